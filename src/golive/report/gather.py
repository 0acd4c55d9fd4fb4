"""Reading a rollout's report from the store, and writing it beside the state.

``write_reports`` is what the controller calls after a rollout's terminal commit: it writes
``<state-dir>/reports/<id>.{md,html,json}`` (0600, each replaced atomically) and never raises
for want of a file system: the caller logs the failure; the rollout is over either way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from golive.atomic import write_atomically
from golive.files import private_dir
from golive.report import html, jsonreport, markdown
from golive.report.model import Report, build
from golive.store.base import Store
from golive.store.export import ChainHead, chain_head

Format = Literal["md", "html", "json"]
FORMATS: tuple[Format, ...] = ("md", "html", "json")
RENDER: dict[Format, Callable[[Report], str]] = {
    "md": markdown.render,
    "html": html.render,
    "json": jsonreport.render,
}


async def head_of(store: Store, rollout_id: str) -> ChainHead:
    """The journal's head as a report shows it (for summary notifications too)."""
    return chain_head(rollout_id, await store.events(rollout_id))


async def gather(store: Store, rollout_id: str) -> Report:
    """The report of the rollout as the store holds it now."""
    record = await store.load(rollout_id)
    plan = store.load_plan(record)
    events = await store.events(record.id)
    measurements = await store.measurements(record.id)
    signoffs = await store.signoffs(record.id)
    confirmations = await store.confirmations(record.id)
    head = chain_head(record.id, events)
    return build(record, plan, events, measurements, signoffs, confirmations, head)


def render(report: Report, fmt: Format) -> str:
    return RENDER[fmt](report)


def report_path(state_dir: Path, rollout_id: str, fmt: Format) -> Path:
    return state_dir / "reports" / f"{rollout_id}.{fmt}"


async def write_reports(store: Store, rollout_id: str, state_dir: Path) -> list[Path]:
    """Write every format of the rollout's report under ``state_dir/reports``."""
    report = await gather(store, rollout_id)
    return await asyncio.to_thread(_write, state_dir, report)


def _write(state_dir: Path, report: Report) -> list[Path]:
    """Render (a long rollout's report takes a while: off the event loop) and write."""
    private_dir(state_dir / "reports")
    written = []
    for fmt in FORMATS:
        path = report_path(state_dir, report.rollout_id, fmt)
        write_atomically(path, render(report, fmt), durable=False)
        written.append(path)
    return written
