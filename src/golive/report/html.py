"""The report as one self-contained HTML file: styles, uPlot and the chart data inline, nothing
fetched (its Content-Security-Policy forbids the network and any script but its own two).

Every string is escaped with ``html.escape``; the chart data is JSON in a ``<script
type="application/json">`` whose ``<`` are written ``\\u003c``, so a hostile string cannot
close the element. The charts use the dashboard's uPlot (``server/static``, read as a file).
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from functools import cache
from html import escape
from pathlib import Path

from golive.report import figures as f
from golive.report.model import Entry, Report, StageReport

ASSETS = Path(__file__).resolve().parents[1] / "server" / "static"
UPLOT_JS, UPLOT_CSS = "uPlot-1.6.32.iife.min.js", "uPlot-1.6.32.min.css"
HERE = Path(__file__).parent
STATUS_CLASS = {"worse": "bad", "better": "good", "ok": "good", "no data": "muted"}


def e(text: object) -> str:
    return escape(f.clip(str(text)), quote=True)


@cache
def _asset(name: str) -> str:
    return (ASSETS / name).read_text()


@cache
def _own(name: str) -> str:
    return (HERE / name).read_text()


def _hash(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


def _finite(values: list[float | None]) -> list[float | None]:
    return [v if v is not None and math.isfinite(v) else None for v in values]


def chart_data(r: Report) -> str:
    """The series as JSON for the charts; a value that is not a finite number is a gap."""
    s = r.series
    data = {
        "t": _finite([p.at for p in s]),
        "weight": _finite([p.weight for p in s]),
        "rps": [_finite([p.rps[i] for p in s]) for i in (0, 1)],
        "errors": [_finite([p.errors[i] for p in s]) for i in (0, 1)],
        "latency": [[_finite([p.latency[w][q] for p in s]) for q in range(3)] for w in (0, 1)],
    }
    return json.dumps(data, allow_nan=False).replace("<", "\\u003c").replace(">", "\\u003e")


def table(
    header: tuple[str, ...],
    rows: list[tuple[object, ...]],
    cls: str = "",
    text: tuple[int, ...] = (),
) -> str:
    """A table; the columns in ``text`` hold free text (wrapped anywhere, the others by word)."""
    head = "".join(f"<th>{e(h)}</th>" for h in header)
    kind = ['class="text"' if i in text else "" for i in range(len(header))]
    body = "".join(
        "<tr>" + "".join(f"<td {kind[i]}>{e(c)}</td>" for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def render(r: Report) -> str:
    uplot, charts = _asset(UPLOT_JS), _own("charts.js")
    csp = (
        f"default-src 'none'; script-src {_hash(uplot)} {_hash(charts)}; "
        "style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
    )
    title = f"{r.service} {r.canary_version}: {f.outcome(r.outcome)}"
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(title)} - golive report</title>",
        f"<style>{_asset(UPLOT_CSS)}\n{_own('report.css')}</style>",
        "</head><body><main>",
        _summary(r),
        _ending(r),
        _preflight(r),
        _risks(r),
        _signoffs(r),
        _analysis(r),
        _timeline(r),
        _head(r),
        "</main>",
        f'<script type="application/json" id="chart-data">{chart_data(r)}</script>',
        f"<script>{uplot}</script>",
        f"<script>{charts}</script>",
        "</body></html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"


def _summary(r: Report) -> str:
    facts = [
        ("Rollout", r.rollout_id), ("Versions", f"{r.stable_version} → {r.canary_version}"),
        ("Started", f.when(r.started)), ("Ended" if r.terminal else "Last entry", f.when(r.ended)),
        ("Duration", f.duration(r.duration)), ("Started by", r.started_by or "–"),
        ("Plan", r.plan_path),
    ]  # fmt: skip
    wide = {"Rollout": ' class="wide"'}
    dl = "".join(f"<div{wide.get(k, '')}><dt>{e(k)}</dt><dd>{e(v)}</dd></div>" for k, v in facts)
    return (
        f'<header class="summary {e(r.outcome)}"><p class="kicker">golive deployment report</p>'
        f'<h1><span class="service">{e(r.service)}</span> '
        f'<span class="outcome">{e(f.outcome(r.outcome))}</span></h1><dl>{dl}</dl></header>'
    )


def _ending(r: Report) -> str:
    if not r.reason:
        return ""
    return (f'<section class="ending"><h2>Why it ended</h2><p class="reason">{e(r.reason)}</p>'
            f"{_entries(r.rollback_evidence)}</section>")  # fmt: skip


def _preflight(r: Report) -> str:
    card = r.scorecard
    if card is None:
        return ""
    cats = "".join(
        f'<div class="cat"><span>{e(c.name)}</span><b>{c.score:.1f}</b>'
        f"<small>{c.passed}/{c.items} passed</small></div>"
        for c in card.categories
    )
    rows: list[tuple[object, ...]] = [
        (i.name, i.category, i.outcome, "yes" if i.critical else "", i.reason or i.value)
        for i in card.items
    ]
    go = "go" if card.go else "nogo"
    blockers = "".join(f"<li>{e(b)}</li>" for b in card.blockers)
    return (
        f'<section><h2>Pre-flight and scorecard</h2><p class="score {go}">{e(card.headline())}'
        f' <small>(GO at {card.go_at:g})</small></p><div class="cats">{cats}</div>'
        + table(("Check", "Category", "Result", "Critical", "Detail"), rows, "checks", (0, 4))
        + (f'<ul class="blockers">{blockers}</ul>' if blockers else "")
        + "</section>"
    )


def _risks(r: Report) -> str:
    if not r.risks:
        return ""
    rows: list[tuple[object, ...]] = [(x.risk, x.likelihood, x.impact, x.mitigation)
                                      for x in r.risks]  # fmt: skip
    return (
        "<section><h2>Risk register</h2>"
        + table(("Risk", "Likelihood", "Impact", "Mitigation"), rows, "risks")
        + "</section>"
    )


def _signoffs(r: Report) -> str:
    rows: list[tuple[object, ...]] = [
        (s.by, s.role, f.signoff_decision(s.approve), s.gate, f.when(s.at), s.note)
        for s in r.signoffs
    ]
    rows += [(c.by, c.role, "confirmed", c.item, f.when(c.at), c.note) for c in r.confirmations]
    if not rows:
        return ""
    header = ("Who", "Role", "Decision", "Gate or item", "When", "Note")
    return "<section><h2>Sign-offs</h2>" + table(header, rows, "signoffs", (5,)) + "</section>"


def _analysis(r: Report) -> str:
    charts = "".join(
        f'<figure><figcaption>{e(name)}</figcaption><div class="chart" id="chart-{key}"></div>'
        "</figure>"
        for key, name in (("weight", "Canary weight (%)"), ("rps", "Requests per second"),
                          ("errors", "Error rate (%)"), ("latency", "Latency p50 / p95 / p99 (ms)"))
    )  # fmt: skip
    stages = "".join(_stage(s) for s in r.stages) or (
        '<p class="muted">No traffic reached the canary: nothing to compare.</p>'
    )
    served = any(p.rps[0] or p.rps[1] for p in r.series)
    charted = f'<div class="charts">{charts}</div>' if served else ""
    return f"<section><h2>Canary analysis</h2>{charted}{stages}</section>"


def _stage(s: StageReport) -> str:
    st = s.stage
    body = "".join(
        f'<tr><td>{e(c[0])}</td><td class="num">{e(c[1])}</td><td class="num">{e(c[2])}</td>'
        f'<td class="num">{e(c[3])}</td><td class="{STATUS_CLASS.get(row.status, "")}">'
        f"{e(c[4])}</td></tr>"
        for row in st.rows
        for c in [f.cells(row)]
    )
    head = "".join(f"<th>{h}</th>" for h in ("Metric", "Baseline (stable)", "Current (canary)",
                                             "Change", "Status"))  # fmt: skip
    return (
        f'<div class="stage"><h3>{e(f.stage_title(st.weight))} <small>{f.clock(st.start)}'
        f' – {f.clock(st.end)} UTC</small></h3><table class="diff"><thead><tr>{head}</tr>'
        f"</thead><tbody>{body}</tbody></table>"
        + (f"<h4>Evidence</h4>{_entries(s.evidence)}" if s.evidence else "")
        + "</div>"
    )


def _entries(entries: tuple[Entry, ...]) -> str:
    items = "".join(
        f"<li><time>{f.clock(x.at)}</time> <code>{e(x.kind)}</code> {e(x.message)}</li>"
        for x in entries
    )
    return f'<ul class="evidence">{items}</ul>'


def _timeline(r: Report) -> str:
    rows: list[tuple[object, ...]] = [(f.clock(x.at), x.seq, x.kind, x.message)
                                      for x in r.timeline]  # fmt: skip
    return (
        "<section><h2>Timeline</h2>"
        + table(("Time (UTC)", "Seq", "Event", "Message"), rows, "timeline")
        + "</section>"
    )


def _head(r: Report) -> str:
    h = r.head
    return (
        '<section class="head"><h2>Journal head</h2><dl>'
        f"<div><dt>Events</dt><dd>{h.events} (last seq {h.seq})</dd></div>"
        f"<div><dt>Public head</dt><dd><code>{e(h.public)}</code></dd></div>"
        f"<div><dt>Keyed head (HMAC)</dt><dd><code>{e(h.hash)}</code></dd></div></dl>"
        '<p class="muted">Check an export against the public head with '
        "<code>golive audit verify --file FILE --head HEAD</code> (no key needed).</p></section>"
    )
