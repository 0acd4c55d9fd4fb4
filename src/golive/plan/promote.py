"""The ``promote`` step's value: a plain promotion, or one followed by a watch window.

``promote: {watch: 6h, keep_previous: 48h, checks: [smoke], every: [{for: 2h, every: 5m},
{for: 4h, every: 15m}, {every: 1h}]}``: after 100% is read back on the new version it is
watched for ``watch`` (triggers, the judge's absolute limits and ``checks`` on the ``every``
schedule); the previous revision stays deployed, out of the route, until ``keep_previous``
runs out, so a rollback during the window sends traffic back to it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, Field

from golive.errors import PlanIssue
from golive.plan import model as m
from golive.plan.registry import Issue
from golive.plan.strict import STRICT, Name
from golive.plan.values import Duration

if TYPE_CHECKING:
    from golive.plan.spec import PlanSpec

DEFAULT_EVERY = 300.0  # checks every 5 minutes when the plan names checks but no schedule


class EverySpec(BaseModel):
    model_config = STRICT
    for_: Annotated[Duration | None, Field(alias="for")] = None
    every: Duration


class PromoteSpec(BaseModel):
    model_config = STRICT
    # accepted for older plans; a promotion now retires the stable whenever golive runs it
    retire_stable: bool = False
    watch: Duration | None = None
    keep_previous: Duration | None = None  # default: the watch window itself
    checks: list[Name] = []
    every: Annotated[list[EverySpec], Field(max_length=32)] = []


def promote_step(p: PromoteSpec) -> m.Step:
    if p.watch is None:
        return m.PromoteStep(p.retire_stable)
    every = tuple((e.for_, e.every) for e in p.every) or ((None, DEFAULT_EVERY),)
    if every[-1][0] is not None:  # after the last entry's 'for', its interval goes on
        every = (*every, (None, every[-1][1]))
    keep = p.keep_previous if p.keep_previous is not None else p.watch
    watch = m.Watch(p.watch, keep, tuple(p.checks), every)
    return m.PromoteStep(p.retire_stable, watch)


def promote_rules(spec: PlanSpec, i: int, p: PromoteSpec, issue: Issue) -> Iterator[PlanIssue]:
    at = ("steps", i, "promote")
    if any(s.get("migrate") is None for s in spec.steps[i + 1 :]):
        yield issue(
            at, "promote must be the last step (only 'phase: contract' migrations may follow it)"
        )
    if p.watch is None:
        for name in ("keep_previous", "checks", "every"):
            if getattr(p, name):
                yield issue((*at, name), f"'{name}' belongs to a watch window: add 'watch: 6h'")
        return
    if p.watch <= 0:
        yield issue((*at, "watch"), "the watch window must be longer than 0s")
    if p.keep_previous is not None and p.keep_previous < p.watch:
        yield issue(
            (*at, "keep_previous"),
            f"keep_previous ({p.keep_previous:g}s) must be at least the watch window "
            f"({p.watch:g}s): a rollback during the window needs the previous revision",
        )
    for j, name in enumerate(p.checks):
        if name not in spec.checks:
            known = ", ".join(sorted(spec.checks)) or "none defined under checks:"
            yield issue((*at, "checks", j), f"unknown check {name!r}; known: {known}")
    for j, e in enumerate(p.every):
        if e.every <= 0:
            yield issue((*at, "every", j, "every"), "'every' must be longer than 0s")
        if e.for_ is None and j != len(p.every) - 1:
            yield issue(
                (*at, "every", j, "for"),
                "only the last entry may leave out 'for' (it runs to the end of the window)",
            )
        if e.for_ is not None and e.for_ <= 0:
            yield issue((*at, "every", j, "for"), "'for' must be longer than 0s")
