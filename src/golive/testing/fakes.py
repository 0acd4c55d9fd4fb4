"""In-memory stand-ins for the provider protocols and the clock."""

from __future__ import annotations

from golive.analysis.snapshot import Snapshot
from golive.core.results import CheckResult, CheckStatus, Health
from golive.errors import PermanentError, TransientError
from golive.plan.model import Check, Revision, Split
from golive.traffic.base import Verification


class FakeClock:
    """A clock that only moves when slept on (or advanced): tests never wait."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.t = start

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += seconds

    def advance(self, seconds: float) -> None:
        self.t += seconds


class FakeRouter:
    """A router whose writes take effect after ``lag`` observations; can be made unreachable,
    or made to refuse what it is given (as a proxy refuses a bad configuration)."""

    def __init__(self, lag: int = 0) -> None:
        self.served = Split.all_stable()
        self.lag = lag
        self.unreachable = False
        self.refusing = False
        self.applied: list[Split] = []
        self._pending: tuple[Split, int] | None = None

    def _settle(self) -> None:
        if self._pending is not None:
            split, left = self._pending
            if left <= 0:
                self.served, self._pending = split, None
            else:
                self._pending = (split, left - 1)

    async def observe(self) -> Split:
        if self.unreachable:
            raise TransientError("fake router unreachable")
        self._settle()
        return self.served

    async def apply(self, split: Split) -> None:
        if self.unreachable:
            raise TransientError("fake router unreachable")
        if self.refusing:
            raise PermanentError(f"fake router refused {split}")
        self.applied.append(split)
        self._pending = (split, self.lag)
        self._settle()

    async def verify(self, split: Split) -> Verification:
        return Verification.VERIFIED if await self.observe() == split else Verification.PENDING

    async def reset(self) -> None:
        await self.apply(Split.all_stable())

    async def start(self, initial: Split) -> bool:
        return False


class ScriptedMetrics:
    """Counters produced by a function of (time, served split): a scripted world."""

    def __init__(
        self,
        clock: FakeClock,
        router: FakeRouter,
        rps: float = 100.0,
        stable_error: float = 0.0,
        canary_error: float = 0.0,
        latency_ms: float = 20.0,
        canary_latency_ms: float | None = None,
    ) -> None:
        self.clock, self.router = clock, router
        self.rps = rps
        self.error = {Revision.STABLE: stable_error, Revision.CANARY: canary_error}
        self.latency = {
            Revision.STABLE: latency_ms,
            Revision.CANARY: canary_latency_ms or latency_ms,
        }
        self.counts = {r: [0.0, 0.0] for r in Revision}
        self._last = clock.now()

    def _tick(self) -> None:
        dt = self.clock.now() - self._last
        self._last = self.clock.now()
        w = self.router.served.canary_weight / 100.0
        for rev, share in ((Revision.STABLE, 1 - w), (Revision.CANARY, w)):
            n = self.rps * dt * share
            self.counts[rev][0] += n
            self.counts[rev][1] += n * self.error[rev]

    async def sample(self, revision: Revision) -> Snapshot:
        self._tick()
        requests, errors = (int(x) for x in self.counts[revision])
        lat = self.latency[revision]
        buckets = {
            lat / 2: requests // 10,
            lat: requests // 2,
            lat * 2: requests * 19 // 20,
            float("inf"): requests,
        }
        return Snapshot(requests, errors, buckets)

    async def in_flight(self, revision: Revision) -> int:
        return 0


class FakeDeployer:
    """Revisions become ready ``ready_after`` status calls after ``ensure``; or never."""

    def __init__(self, ready_after: int = 1, fail: bool = False) -> None:
        self.ready_after = ready_after
        self.fail = fail
        self.running: dict[Revision, int] = {Revision.STABLE: 0}
        self.started: set[Revision] = set()  # what "golive" started, so owns and may retire
        self.retired: list[Revision] = []

    async def ensure(self, revision: Revision) -> None:
        if revision not in self.running:
            self.started.add(revision)
        self.running.setdefault(revision, self.ready_after)

    async def owns(self, revision: Revision) -> bool:
        return revision in self.started and revision in self.running

    async def status(self, revision: Revision) -> Health:
        if revision not in self.running:
            return Health.ABSENT
        if self.fail and revision is Revision.CANARY:
            return Health.FAILED
        left = self.running[revision]
        if left > 0:
            self.running[revision] = left - 1
            return Health.STARTING
        return Health.READY

    async def retire(self, revision: Revision) -> None:
        self.running.pop(revision, None)
        self.started.discard(revision)
        self.retired.append(revision)


async def passing_check(check: Check) -> CheckResult:
    return CheckResult(CheckStatus.PASSED, f"{check.name} passed (fake)")
