"""The rollout page's panels (summary, actions, steps, the judge, checks, sign-offs, journal)
and the war room's head and foot, rendered from the API's rollout document: the page and the
live refresh (``/ui/rollouts/{id}/panels``) show the same HTML. Buttons are shown only to whom
the API route would allow.
"""

from __future__ import annotations

from golive.identity import Identity
from golive.server.auth import Policy, allowed
from golive.server.pages import clean, clock, pct, phase_text, versions_text

JOURNAL_SHOWN = 60


def _state(doc: dict[str, object]) -> dict[str, object]:
    state = doc.get("state")
    return state if isinstance(state, dict) else {}


def _weights(doc: dict[str, object]) -> tuple[float, object]:
    weights = doc.get("weights")
    assert isinstance(weights, dict)
    desired = float(weights.get("desired") or 0)
    return desired, weights.get("measured")


def warroom_head(doc: dict[str, object]) -> str:
    phase = _state(doc).get("phase", "")
    desired, _ = _weights(doc)
    waiting = doc.get("waiting_for") or ""
    return (
        f'<div data-panel="warroom-head" class="wr-head" data-desired="{desired:g}">'
        f"<h1>{clean(doc['service'])} <span>{clean(versions_text(doc.get('versions')))}</span></h1>"
        f'<p class="wr-phase phase phase-{clean(phase)}" data-testid="phase">'
        f"{clean(phase_text(phase))}</p>"
        f'<p class="wr-step">step {clean(doc.get("step_number"))} of '
        f"{len(doc.get('steps') or [])}"  # type: ignore[arg-type]
        + (f" · waiting for {clean(waiting)}" if waiting else "")
        + "</p></div>"
    )


def warroom_foot(doc: dict[str, object]) -> str:
    """The steps as a strip, and the judge's verdict per metric."""
    chips = "".join(
        f'<li class="chip step-{clean(s["state"]).replace(" ", "-")}">{clean(s["step"])}</li>'
        for s in doc.get("steps") or []  # type: ignore[attr-defined]
    )
    judged = "".join(
        f'<li class="judged-{clean(m["status"]).replace(" ", "-")}"><strong>{clean(m["metric"])}: '
        f"{clean(m['status'])}</strong> {clean(m['sentence'])}</li>"
        for m in doc.get("judge") or []  # type: ignore[attr-defined]
    )
    return (
        f'<div data-panel="warroom-foot" class="wr-foot"><ol class="wr-steps">{chips}</ol>'
        f'<ul class="wr-judge">{judged}</ul></div>'
    )


def panels_html(doc: dict[str, object], who: Identity, top: bool = True) -> str:
    return (
        '<div class="panels">'
        + (summary(doc) + actions(doc, who) if top else "")
        + _steps(doc)
        + _judge(doc)
        + _checks(doc)
        + _signoffs(doc)
        + _journal(doc)
        + "</div>"
    )


def summary(doc: dict[str, object]) -> str:
    state = _state(doc)
    phase = state.get("phase", "")
    desired, measured = _weights(doc)
    waiting = doc.get("waiting_for") or ""
    reason = state.get("reason") or ""
    versions = doc.get("versions") if isinstance(doc.get("versions"), dict) else {}
    assert isinstance(versions, dict)
    return (
        f'<section data-panel="summary" class="summary" data-desired="{desired:g}">'
        f"<h1>{clean(doc['service'])}</h1>"
        f'<p><span class="phase phase-{clean(phase)}" data-testid="phase">'
        f"{clean(phase_text(phase))}"
        f"</span> step {clean(doc.get('step_number'))} of {len(doc.get('steps') or [])}"  # type: ignore[arg-type]
        + (f' · <span class="waiting">waiting for {clean(waiting)}</span>' if waiting else "")
        + "</p>"
        + (f'<p class="reason">{clean(reason)}</p>' if reason else "")
        + _window(doc)
        + '<div class="weights">'
        f'<div class="weight stable"><span class="label">stable '
        f"{clean(versions.get('stable', ''))}</span>"
        f'<span class="big" data-testid="stable-weight">{100 - desired:g}%</span></div>'
        f'<div class="weight canary"><span class="label">canary '
        f"{clean(versions.get('canary', ''))}</span>"
        f'<span class="big" data-testid="canary-weight">{desired:g}%</span></div>'
        f'<div class="weight measured"><span class="label">measured canary share</span>'
        f'<span class="big" data-live="measured">{clean(pct(measured))}</span></div>'
        "</div>"
        f'<p class="mono small">rollout {clean(doc["id"])}</p></section>'
    )


def _window(doc: dict[str, object]) -> str:
    """The watch window after promotion, and when the previous revision is retired."""
    watch = doc.get("watch")
    if not isinstance(watch, dict):
        return ""
    return f'<p class="watch" data-testid="watch">{clean(watch.get("sentence", ""))}</p>'


def _button(action: str, label: str, kind: str = "", **data: object) -> str:
    attrs = "".join(f' data-{k}="{clean(v)}"' for k, v in data.items())
    return (
        f'<button type="button" class="btn {kind}" data-action="{action}"{attrs}>'
        f"{clean(label)}</button>"
    )


def actions(doc: dict[str, object], who: Identity) -> str:
    """The buttons this person may press now; none for a viewer."""
    buttons = []
    asks = doc.get("asks")
    if isinstance(asks, dict):
        signed = set(asks.get("signed") or [])
        for role in asks.get("roles") or []:
            if who.holds(role) and role not in signed:
                buttons.append(_button("approve", f"Approve as {role}", "go", role=role,
                                       revision=asks.get("revision")))  # fmt: skip
                buttons.append(_button("reject", f"Reject as {role}", "danger", role=role,
                                       confirm="reject"))  # fmt: skip
    for item in doc.get("checklist") or []:  # type: ignore[attr-defined]
        role = item.get("role")
        if item.get("open") and role and who.holds(role):
            buttons.append(_button("confirm", f"Confirm: {item['text']}", "go",
                                   item=item["item"], role=role))  # fmt: skip
    phase = _state(doc).get("phase", "")
    if allowed(who, Policy.OPERATOR) and phase in ("progressing", "paused"):
        if phase == "progressing":
            buttons.append(_button("pause", "Pause"))
        else:
            buttons.append(_button("resume", "Resume"))
        buttons.append(_button("abort", "Abort", "danger", confirm="abort"))
        buttons.append(_button("rollback", "Roll back", "danger", confirm="rollback"))
    if not buttons:
        return '<section data-panel="actions" class="actions" hidden></section>'
    return (
        '<section data-panel="actions" class="actions"><h2>Actions</h2>'
        f'<div class="buttons">{"".join(buttons)}</div>'
        '<p class="action-result" role="status" data-live="action-result"></p></section>'
    )


def _steps(doc: dict[str, object]) -> str:
    items = "".join(
        f'<li class="step step-{clean(s["state"]).replace(" ", "-")}">'
        f'<span class="n">{clean(s["number"])}</span><span class="what">{clean(s["step"])}</span>'
        f'<span class="where">{clean(s["state"])}</span></li>'
        for s in doc.get("steps") or []  # type: ignore[attr-defined]
    )
    return f'<section data-panel="steps" class="steps"><h2>Steps</h2><ol>{items}</ol></section>'


def _judge(doc: dict[str, object]) -> str:
    judged = doc.get("judge") or []
    rows = "".join(
        f'<tr class="judged-{clean(m["status"]).replace(" ", "-")}"><td>{clean(m["metric"])}</td>'
        f'<td><span class="verdict">{clean(m["status"])}</span></td>'
        f"<td>{clean(m['sentence'])}</td></tr>"
        for m in judged  # type: ignore[attr-defined]
    )
    inner = (
        f"<table><thead><tr><th>Metric</th><th>Verdict</th><th>Why</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        if rows
        else '<p class="muted">Nothing judged yet.</p>'
    )
    return f'<section data-panel="judge" class="judge"><h2>The judge</h2>{inner}</section>'


def _checks(doc: dict[str, object]) -> str:
    card = doc.get("scorecard")
    parts = []
    if isinstance(card, dict):
        parts.append(
            f'<p class="readiness readiness-{clean(card.get("readiness"))}">'
            f"{clean(card.get('readiness'))} · {float(str(card.get('overall', 0))):.2f}/10 "
            f"(go at {clean(card.get('go_at'))})</p>"
        )
        rows = "".join(
            f'<tr class="outcome-{clean(i.get("outcome"))}"><td>{clean(i.get("name"))}</td>'
            f"<td>{clean(i.get('category'))}</td><td>{clean(i.get('outcome'))}</td>"
            f"<td>{clean(i.get('value'))} {clean(i.get('reason'))}</td></tr>"
            for i in card.get("items") or []
        )
        parts.append(
            "<table><thead><tr><th>Check</th><th>Category</th><th>Outcome</th><th>Detail</th>"
            f"</tr></thead><tbody>{rows}</tbody></table>"
        )
        parts += [f'<p class="blocker">{clean(b)}</p>' for b in card.get("blockers") or []]
    for item in doc.get("checklist") or []:  # type: ignore[attr-defined]
        mark = "confirmed" if item["confirmed"] else "to confirm"
        parts.append(
            f'<p class="checklist">{clean(item["text"])} ({clean(item["role"] or "any role")}): '
            f"{mark}</p>"
        )
    inner = "".join(parts) or '<p class="muted">No scorecard yet.</p>'
    title = "<h2>Checks and scorecard</h2>"
    return f'<section data-panel="checks" class="checks">{title}{inner}</section>'


def _signoffs(doc: dict[str, object]) -> str:
    items = "".join(
        f"<li>{clean(s['gate'])}: <strong>{'approved' if s['approve'] else 'rejected'}</strong>"
        f" by {clean(s['by'])} as {clean(s['role'])} (step {clean(s['step'] + 1)})"
        + (f" – {clean(s['note'])}" if s["note"] else "")
        + "</li>"
        for s in doc.get("signoffs") or []  # type: ignore[attr-defined]
    )
    asks = doc.get("asks")
    waiting = ""
    if isinstance(asks, dict):
        missing = [r for r in asks["roles"] if r not in asks["signed"]]
        waiting = (
            f'<p class="waiting">Gate {clean(asks["gate"])} waits for: '
            f"{clean(', '.join(missing))}</p>"
        )
    inner = waiting + (f"<ul>{items}</ul>" if items else '<p class="muted">No sign-offs.</p>')
    return f'<section data-panel="signoffs" class="signoffs"><h2>Sign-offs</h2>{inner}</section>'


def _journal(doc: dict[str, object]) -> str:
    entries = doc.get("_journal") or []
    items = "".join(
        f'<li><time>{clean(clock(e["at"]))}</time> <span class="kind">{clean(e["kind"])}</span> '
        f"{clean(e['message'])}</li>"
        for e in reversed(entries[-JOURNAL_SHOWN:])  # type: ignore[index]
    )
    return (
        f'<section data-panel="journal" class="journal"><h2>Journal</h2><ol>{items}</ol></section>'
    )
