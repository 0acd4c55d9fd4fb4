"""The report as Markdown, for release notes and pull requests.

Every string golive did not write is escaped: in a table a pipe or a newline would break the
row, and markup (``<script>``, ``[link](...)``, ``*``) must show as the characters it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from golive.report import figures as f
from golive.report.model import Entry, Report

_SPECIAL = re.compile(r"([\\`*\[\]<|~&]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")


def esc(text: object) -> str:
    """``text`` as literal Markdown on one line (also inside a table cell)."""
    one_line = re.sub(r"\r\n|\r|\n|\u2028|\u2029", " ", f.clip(str(text)))
    return _SPECIAL.sub(r"\\\1", one_line)


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


def render(r: Report) -> str:
    out = [f"# Deployment report: {esc(r.service)} {esc(r.canary_version)}", ""]
    out += table(("", ""), [
        ("Rollout", r.rollout_id), ("Service", r.service),
        ("Versions", f"{r.stable_version} -> {r.canary_version}"),
        ("Outcome", f.outcome(r.outcome)), ("Started", f.when(r.started)),
        ("Ended" if r.terminal else "Last entry", f.when(r.ended)),
        ("Duration", f.duration(r.duration)), ("Started by", r.started_by or "–"),
        ("Plan", r.plan_path),
    ])  # fmt: skip
    if r.reason:
        out += ["## Why it ended", "", esc(r.reason), ""]
        out += _entries(r.rollback_evidence)
    out += _preflight(r)
    if r.risks:
        out += ["## Risk register", ""]
        out += table(("Risk", "Likelihood", "Impact", "Mitigation"),
                     [(x.risk, x.likelihood, x.impact, x.mitigation) for x in r.risks])  # fmt: skip
    out += _signoffs(r)
    out += ["## Canary analysis", ""]
    if not r.stages:
        out += ["No traffic reached the canary: nothing to compare.", ""]
    for s in r.stages:
        st = s.stage
        title = f"### {f.stage_title(st.weight)}"
        out += [f"{title} ({f.clock(st.start)} - {f.clock(st.end)} UTC)", ""]
        out += table(("Metric", "Baseline (stable)", "Current (canary)", "Change", "Status"),
                     [f.cells(row) for row in st.rows])  # fmt: skip
        if s.evidence:
            out += ["Evidence:", "", *_bullets(s.evidence), ""]
    out += ["## Timeline", ""]
    out += table(("Time (UTC)", "Seq", "Event", "Message"),
                 [(f.clock(e.at), e.seq, e.kind, e.message) for e in r.timeline])  # fmt: skip
    out += ["## Journal head", "", *_head(r)]
    return "\n".join(out) + "\n"


def _preflight(r: Report) -> list[str]:
    card = r.scorecard
    if card is None:
        return []
    out = [
        "## Pre-flight and scorecard",
        "",
        f"**{esc(card.headline())}** (GO at {card.go_at:g})",
        "",
    ]
    out += table(("Check", "Category", "Result", "Critical", "Detail"),
                 [(i.name, i.category, i.outcome, "yes" if i.critical else "",
                   i.reason or i.value) for i in card.items])  # fmt: skip
    if card.blockers:
        out += ["Blockers:", "", *(f"- {esc(b)}" for b in card.blockers), ""]
    return out


def _signoffs(r: Report) -> list[str]:
    if not r.signoffs and not r.confirmations:
        return []
    out = ["## Sign-offs", ""]
    rows = [(s.by, s.role, f.signoff_decision(s.approve), s.gate, f.when(s.at), s.note)
            for s in r.signoffs]  # fmt: skip
    rows += [(c.by, c.role, "confirmed", c.item, f.when(c.at), c.note) for c in r.confirmations]
    return out + table(("Who", "Role", "Decision", "Gate or item", "When", "Note"), rows)


def _entries(entries: Sequence[Entry]) -> list[str]:
    return [*_bullets(entries), ""] if entries else []


def _bullets(entries: Sequence[Entry]) -> list[str]:
    return [f"- {f.clock(e.at)} `{e.kind}` {esc(e.message)}" for e in entries]


def _head(r: Report) -> list[str]:
    h = r.head
    return [f"- events: {h.events}, last seq {h.seq}",
            f"- public head (verify an export without the key): `{h.public}`",
            f"- keyed head (HMAC, `golive audit verify`): `{h.hash}`", ""]  # fmt: skip
