"""Anytime-valid evidence that a canary is worse, or not worse, than stable.

Every test here is an *e-process*: a running product of per-interval likelihood ratios whose
expectation is at most 1 while the canary is no worse than the null allows. By Ville's
inequality the chance it ever reaches ``1/alpha`` is at most ``alpha``, however often it is
looked at. Each scrape interval is a stratum of its own, compared *within* the interval, so a
split that changes and load or error rates that drift for both revisions alike cannot fake
evidence.

- :class:`RateRatioTest` (error rates): given the errors both revisions served in an interval,
  the canary's share is binomial with ``theta = n_c*rho / (n_c*rho + n_s)`` (Poisson thinning);
  a mixture of likelihood ratios over a grid of ``rho`` beyond the null ratio tests
  ``rho <= 1 + tolerance`` (Lindon & Malek 2022 use the same conditioning).
- :class:`ShiftTest` (latency histograms): the canary's requests are a sample of the interval's
  pooled requests when nothing changed; exponential tilting of the pooled bucket distribution by
  a score gives an e-value (sampling without replacement is dominated in convex order by
  sampling with replacement, Hoeffding 1963). Rank scores catch whole-distribution shifts, tail
  indicators catch tail-only regressions.

Late onset: every test is also restarted when the split changes (at most ``MAX_STARTS``), and
the starts are mixed with weights 1/2, 1/4, ..., so evidence gathered before a regression began
does not have to be paid back first.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from golive.analysis import ratio as estimates

MAX_STARTS = 6
RATIO_GRID = (1.15, 1.4, 1.75, 2.2, 3.0, 4.5, 8.0)
TILTS = (0.15, 0.3, 0.6, 1.2, 2.4)
_LOG_GRID = tuple(math.log(g) for g in RATIO_GRID)
_LOG_START_WEIGHTS = [math.log(0.75)] + [-(j + 2) * math.log(2) for j in range(1, MAX_STARTS)]


def logsumexp(values: Sequence[float]) -> float:
    top = max(values)
    if top == -math.inf:
        return top
    return top + math.log(sum(math.exp(v - top) for v in values))


class EProcess:
    """A mixture (uniform over ``size`` alternatives) of likelihood-ratio martingales."""

    def __init__(self, size: int, restartable: bool = True) -> None:
        self._size = size
        self._restartable = restartable
        self._runs: list[list[float]] = [[0.0] * size]

    def restart(self) -> None:
        if self._restartable and len(self._runs) < MAX_STARTS:
            self._runs.append([0.0] * self._size)

    def add(self, increments: Sequence[float]) -> None:
        for run in self._runs:
            for k, inc in enumerate(increments):
                run[k] += inc

    def log_value(self) -> float:
        """log of sum_j w_j * E_j over all possible starts (E_j = 1 before it starts).

        The first run (all the data) weighs 3/4, later starts 1/8, 1/16, ...

        The weights are fixed in advance and sum to less than 1, so the mixture stays an
        e-process. A test that is never restarted gives its single run all the weight.
        """
        runs = [logsumexp(run) - math.log(self._size) for run in self._runs]
        if not self._restartable:
            return runs[0]
        terms = [v + _LOG_START_WEIGHTS[j] for j, v in enumerate(runs)]
        terms += _LOG_START_WEIGHTS[len(runs) :]
        return logsumexp(terms)


class RateRatioTest:
    """Is ``rho = canary rate / stable rate`` above ``null`` (worse) or below it (not worse)?"""

    def __init__(self, null: float = 1.0) -> None:
        self.null = null
        self.worse = EProcess(len(RATIO_GRID))
        self.better = EProcess(len(RATIO_GRID), restartable=False)
        self.events = [0.0, 0.0]  # canary, stable
        self.exposure = [0.0, 0.0]
        self._runs: list[list[float]] = [[0.0, 0.0, 0.0, 0.0]]  # per weight: x, s, n_c, n_s

    def restart(self) -> None:
        self.worse.restart()
        if self._runs[-1][2] > 0:
            self._runs.append([0.0, 0.0, 0.0, 0.0])

    def add(self, x: float, s: float, n_c: float, n_s: float) -> None:
        """One interval: ``x`` of the ``s`` events were the canary's; exposures ``n_c``, ``n_s``."""
        if n_c <= 0 or n_s <= 0:
            return
        self.events[0] += x
        self.events[1] += s - x
        self.exposure[0] += n_c
        self.exposure[1] += n_s
        run = self._runs[-1]
        for k, value in enumerate((x, s, n_c, n_s)):
            run[k] += value
        if s <= 0:
            return
        r = n_c / n_s * self.null
        base = math.log1p(r)
        self.worse.add([x * lg - s * (math.log1p(r * g) - base) for g, lg in _ZIP])
        self.better.add([-x * lg - s * (math.log1p(r / g) - base) for g, lg in _ZIP])

    def _strata(self) -> list[estimates.Stratum]:
        return [(x, s, n_c / n_s) for x, s, n_c, n_s in self._runs if s > 0]

    def ratio(self) -> float | None:
        """Conditional maximum likelihood of the rate ratio (None before any error; 0 without
        canary errors, ``inf`` without stable errors)."""
        return estimates.estimate(self._strata())

    def interval(self, z: float = estimates.Z95) -> tuple[float, float] | None:
        """Pointwise 95% score interval of the ratio; open-ended without stable errors."""
        return estimates.interval(self._strata(), z)


_ZIP = tuple(zip(RATIO_GRID, _LOG_GRID, strict=True))


def _tilt_log_e(
    lam: float, x_score: float, n_c: float, pooled: Sequence[tuple[float, float]]
) -> float:
    """log of exp(lam * sum of canary scores) / (E_pooled[exp(lam * score)])^n_c."""
    m = sum(p * math.exp(lam * h) for p, h in pooled)
    return lam * x_score - n_c * math.log(m)


class ShiftTest:
    """Is the canary's latency distribution stochastically larger than stable's?

    ``add`` takes per-bucket (not cumulative) counts of both revisions on the same bounds.
    ``tail_bounds`` are the bounds whose exceedance is tested on its own (tail-only
    regressions); the rank test covers the whole distribution.
    """

    def __init__(self) -> None:
        self.tail_bounds: tuple[float, ...] = ()
        self.rank_worse = EProcess(len(TILTS))
        self.rank_better = EProcess(len(TILTS), restartable=False)
        self.tail_worse: list[EProcess] = []

    def watch_tails(self, bounds: Sequence[float]) -> None:
        """Start the tail tests (once): their weight is fixed from then on."""
        if not self.tail_bounds:
            self.tail_bounds = tuple(bounds)
            self.tail_worse = [EProcess(len(TILTS)) for _ in self.tail_bounds]

    def restart(self) -> None:
        self.rank_worse.restart()
        for e in self.tail_worse:
            e.restart()

    def add(
        self, bounds: Sequence[float], stable: Sequence[float], canary: Sequence[float]
    ) -> None:
        n_c, n_s = sum(canary), sum(stable)
        if n_c <= 0 or n_s <= 0:
            return
        total = n_c + n_s
        pooled = [s + c for s, c in zip(stable, canary, strict=True)]
        scores, below = [], 0.0
        for count in pooled:
            scores.append((below + count / 2) / total - 0.5)  # mid-rank in [-1/2, 1/2]
            below += count
        dist = [(count / total, h) for count, h in zip(pooled, scores, strict=True) if count > 0]
        x_score = sum(c * h for c, h in zip(canary, scores, strict=True))
        self.rank_worse.add([_tilt_log_e(lam, x_score, n_c, dist) for lam in TILTS])
        self.rank_better.add([_tilt_log_e(-lam, x_score, n_c, dist) for lam in TILTS])
        for bound, e in zip(self.tail_bounds, self.tail_worse, strict=True):
            above = [i for i, b in enumerate(bounds) if b > bound]
            p = sum(pooled[i] for i in above) / total
            if p <= 0 or p >= 1:
                continue
            x = sum(canary[i] for i in above)
            e.add([lam * x - n_c * math.log1p(p * math.expm1(lam)) for lam in TILTS])

    def log_worse(self) -> float:
        """Half the weight on the rank test, half shared by the tail tests."""
        if not self.tail_worse:
            return self.rank_worse.log_value()
        tails = logsumexp([e.log_value() for e in self.tail_worse]) - math.log(len(self.tail_worse))
        return logsumexp([self.rank_worse.log_value(), tails]) - math.log(2)
