"""How a running rollout looks: a Rich live view on a terminal, plain lines otherwise, or JSON.

The view is fed one :class:`PassView` per reconcile pass and never blocks the loop.
"""

from __future__ import annotations

import json
import sys
import time
from typing import TextIO, assert_never

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from golive.analysis.judge import Status
from golive.analysis.scorecard import Scorecard
from golive.analysis.snapshot import Series, WindowStats
from golive.cli.terminal import Terminal, literal, one_line, visible
from golive.core.actions import PassView
from golive.core.state import Event, Phase
from golive.engine.decide import current_step
from golive.plan.model import Plan, describe_step

WINDOW = 10.0


def _phase_style(phase: Phase) -> str:
    match phase:
        case Phase.PROGRESSING:
            return "cyan"
        case Phase.PAUSED:
            return "yellow"
        case Phase.PROMOTED:
            return "green"
        case Phase.ROLLING_BACK | Phase.ROLLED_BACK | Phase.ABORTED | Phase.FAILED:
            return "red"
        case _:
            assert_never(phase)


def _fmt_ms(x: float | None) -> str:
    return "-" if x is None else f"{x:.0f}ms"


def _row(name: str, version: str, w: WindowStats) -> list[str]:
    err = "-" if w.error_rate is None else f"{w.error_rate * 100:.2f}%"
    return [
        name,
        version,
        f"{w.request_rate:.1f}",
        err,
        _fmt_ms(w.latency(0.5)),
        _fmt_ms(w.latency(0.95)),
        _fmt_ms(w.latency(0.99)),
    ]


def stats_line(plan: Plan, stable: Series, canary: Series) -> str:
    parts = []
    for name, series in (("stable", stable), ("canary", canary)):
        w = series.window(WINDOW)
        err = "-" if w.error_rate is None else f"{w.error_rate * 100:.1f}%"
        parts.append(f"{name} {w.request_rate:.0f} rps err {err} p95 {_fmt_ms(w.latency(0.95))}")
    return " | ".join(parts)


class LiveView:
    """The terminal dashboard: steps, weights, stable vs canary, the judge's last word."""

    def __init__(self, plan: Plan, rollout_id: str, console: Console | None = None) -> None:
        self.plan, self.rollout_id = plan, rollout_id
        self.console = console or Terminal()
        self.events: list[tuple[float, Event]] = []
        self.card: dict[str, object] | None = None  # the last scorecard recorded
        self.split_alarms: list[tuple[float, Event]] = []  # the measured split departed
        self.live = Live(console=self.console, refresh_per_second=4, transient=False)

    def __enter__(self) -> LiveView:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.__exit__(None, None, None)

    def __call__(self, view: PassView) -> None:
        now = time.time()
        self.events.extend((now, e) for e in view.events)
        self.split_alarms.extend((now, e) for e in view.events if e.kind == "split_alarm")
        self.card = next(
            (e.data for e in reversed(view.events) if e.kind == "scorecard"), self.card
        )
        self.live.update(self._render(view))

    def _render(self, view: PassView) -> Group:
        s = view.state
        served = view.observation.split
        shown = "unknown" if served is None else f"{served.canary_weight:g}%"
        if served is not None and served.segment is not None:
            shown += f" + {served.segment.describe()}"
        head = Text.assemble(
            (f"{self.plan.service} ", "bold"),
            (f"{self.rollout_id}  ", "dim"),
            (s.phase.value.replace("_", " "), f"bold {_phase_style(s.phase)}"),
            f"   canary serves {shown} (desired {s.desired.canary_weight:g}%)",
        )
        steps = Table.grid(padding=(0, 1))
        current = current_step(self.plan, s)
        for i, step in enumerate(self.plan.steps):
            done = i < s.step or s.phase is Phase.PROMOTED
            mark = (
                Text("✓", "green")
                if done
                else (Text("▶", "cyan") if step is current else Text("·", "dim"))
            )
            steps.add_row(mark, literal(describe_step(step)))
        table = Table(
            "revision",
            "version",
            "rps",
            "errors",
            "p50",
            "p95",
            "p99",
            title=f"last {WINDOW:.0f}s",
            title_justify="left",
        )
        table.add_row(*_row("stable", self.plan.stable.version, view.stable.window(WINDOW)))
        table.add_row(*_row("canary", self.plan.canary.version, view.canary.window(WINDOW)))
        verdict = view.observation.verdict
        judge = Text()
        if verdict is not None:
            for m in verdict.metrics:
                style = {Status.OK: "green", Status.REGRESSED: "red"}.get(m.status, "yellow")
                if judge:
                    judge.append("\n")
                judge.append(f"{m.status.value:>13}  ", style=style).append(visible(m.sentence))
        if self.split_alarms:  # stays on screen: the split served is not the one set
            at, alarm = self.split_alarms[-1]
            stamp = time.strftime("%H:%M:%S", time.localtime(at))
            count = len(self.split_alarms)
            judge.append("\n" if judge else "").append(f"{'split alarm':>13}  ", style="bold red")
            judge.append(visible(f"{alarm.message} (at {stamp}; {count} so far)"))
        waiting = literal(f"waiting for: {s.waiting_for}" if s.waiting_for else s.reason, "dim")
        if self.card is not None and not s.shifted:  # before traffic: readiness matters most
            waiting = Text("\n".join([*scorecard_lines(self.card), waiting.plain]), style="dim")
        recent = Text()
        for at, e in self.events[-6:]:
            recent.append(time.strftime("%H:%M:%S ", time.localtime(at)), style="dim")
            recent.append(one_line(e.message) + "\n")
        return Group(
            Panel(head),
            steps,
            table,
            Panel(judge, title="judge", title_align="left"),
            waiting,
            recent,
        )


def scorecard_lines(data: dict[str, object]) -> list[str]:
    """A recorded scorecard as short lines: one per item, then why NO-GO."""
    card = Scorecard.from_json(data)
    lines = [f"{i.outcome.upper():<9} {i.category:<14} {i.name}: {i.reason}" for i in card.items]
    return lines + [f"NO-GO: {b}" for b in card.blockers]


class LineView:
    """Plain lines when not on a terminal: each event, and a stats line every few seconds."""

    def __init__(self, plan: Plan, out: TextIO | None = None, every: float = 5.0) -> None:
        self.plan, self.out, self.every = plan, out or sys.stdout, every  # stdout as it is now
        self._last = 0.0

    def __call__(self, view: PassView) -> None:
        stamp = time.strftime("%H:%M:%S")
        for e in view.events:
            print(f"{stamp} {e.kind:<16} {one_line(e.message)}", file=self.out, flush=True)
            if e.kind == "scorecard":
                for line in scorecard_lines(e.data):
                    print(f"{stamp} {'':<16}   {visible(line)}", file=self.out, flush=True)
        now = time.monotonic()
        if view.state.shifted and now - self._last >= self.every:
            self._last = now
            print(
                f"{stamp} {'metrics':<16} {stats_line(self.plan, view.stable, view.canary)}",
                file=self.out,
                flush=True,
            )


class JsonView:
    """One JSON object per event, for CI logs."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout  # as it is now (an Outlet), not as it was at import

    def __call__(self, view: PassView) -> None:
        for e in view.events:
            print(
                json.dumps(
                    {
                        "at": time.time(),
                        "kind": e.kind,
                        "message": e.message,
                        "phase": view.state.phase.value,
                        "step": view.state.step,
                        "data": e.data,
                    },
                    default=str,
                ),
                file=self.out,
                flush=True,
            )
