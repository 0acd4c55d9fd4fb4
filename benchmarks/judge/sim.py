"""Request-level canary simulator: what a metric source would scrape, every 5 seconds.

Requests arrive as a Poisson process; each is routed to the canary with the current weight,
fails with its revision's error rate and takes a latency from its revision's distribution.
What a judge sees of this is cumulative counters and histogram buckets per revision, and those
depend on the requests only through per-interval counts, so the simulator draws the counts
directly, with exactly the distribution the per-request process gives them: N ~ Poisson,
canary ~ Binomial(N, w), errors ~ Binomial, buckets ~ Multinomial.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from golive.analysis.snapshot import Snapshot
from golive.proxy.envoy_config import LATENCY_BUCKETS_MS

SCRAPE = 5.0
SCHEDULE = ((0.0, 0.05), (600.0, 0.25), (1200.0, 0.50))  # (from t, canary weight)
HORIZON = 1800.0
# The histogram buckets (ms) golive configures in its embedded Envoy: what the judge reads.
BOUNDS = tuple(LATENCY_BUCKETS_MS)
MEDIAN_MS, SIGMA = 100.0, 0.5


def lognormal_cdf(x: float, median: float = MEDIAN_MS, sigma: float = SIGMA) -> float:
    return 0.5 * math.erfc(-math.log(x / median) / (sigma * math.sqrt(2)))


def heavy_cdf(x: float) -> float:
    """95% lognormal body, 5% Pareto tail (x_m = 150 ms, alpha = 1.3)."""
    pareto = 0.0 if x < 150 else 1 - (150 / x) ** 1.3
    return 0.95 * lognormal_cdf(x) + 0.05 * pareto


Cdf = Callable[[float], float]


def scaled(cdf: Cdf, k: float) -> Cdf:
    return lambda x: cdf(x / k)


def shifted(cdf: Cdf, ms: float) -> Cdf:
    """Every request ``ms`` slower."""
    return lambda x: cdf(x - ms) if x > ms else 0.0


def tail_only(cdf: Cdf, share: float = 0.01, k: float = 3.0) -> Cdf:
    return lambda x: (1 - share) * cdf(x) + share * cdf(x / k)


def bucket_probs(cdf: Cdf) -> np.ndarray:
    cum = [cdf(b) for b in BOUNDS] + [1.0]
    return np.diff(np.array([0.0, *cum]))


@dataclass(frozen=True)
class Scenario:
    name: str
    null: bool
    rps: float = 1000.0
    stable_error: float = 0.005
    canary_error: float = 0.005
    stable_latency: Cdf = lognormal_cdf
    canary_latency: Cdf = lognormal_cdf
    drift: float = 0.0  # amplitude of a common sinusoid on load and error rates
    onset: float = 0.0  # the canary's regression starts at this time
    affected: float = 0.0  # share of canary requests a regression harms (for "bad requests")
    kind: str = "errors"
    schedule: tuple[tuple[float, float], ...] = SCHEDULE  # (from t, canary weight)
    probs: dict[str, np.ndarray] = field(default_factory=dict, compare=False)

    def bucket_probs(self, revision: str, regressed: bool = True) -> np.ndarray:
        key = f"{revision}{regressed}"
        if key not in self.probs:
            cdf = self.canary_latency if revision == "canary" and regressed else self.stable_latency
            self.probs[key] = bucket_probs(cdf)
        return self.probs[key]

    def rates(self, t: float) -> tuple[float, float, float, bool]:
        """(request rate, stable error rate, canary error rate, regression active) at t."""
        m = 1.0 + self.drift * math.sin(2 * math.pi * t / HORIZON)
        active = t >= self.onset
        canary = self.canary_error if active else self.stable_error
        return self.rps * m, self.stable_error * m, canary * m, active


def weight_at(t: float, schedule: tuple[tuple[float, float], ...] = SCHEDULE) -> float:
    return [w for start, w in schedule if t >= start][-1]


@dataclass
class Interval:
    t: float
    weight: float
    stable: Snapshot
    canary: Snapshot
    n_canary: int
    errors: tuple[int, int]  # stable, canary in this interval
    buckets: tuple[np.ndarray, np.ndarray]  # per-bucket counts in this interval
    active: bool


def simulate(s: Scenario, seed: int) -> Iterator[Interval]:
    rng = np.random.default_rng(seed)
    tot = {"stable": [0, 0, np.zeros(len(BOUNDS) + 1, dtype=np.int64)]}
    tot["canary"] = [0, 0, np.zeros(len(BOUNDS) + 1, dtype=np.int64)]
    t = 0.0
    while t < HORIZON:
        mid = t + SCRAPE / 2
        rate, p_s, p_c, active = s.rates(mid)
        w = weight_at(t, s.schedule)
        n = int(rng.poisson(rate * SCRAPE))
        n_c = int(rng.binomial(n, w))
        counts = {"stable": n - n_c, "canary": n_c}
        errs = {"stable": int(rng.binomial(n - n_c, p_s)), "canary": int(rng.binomial(n_c, p_c))}
        per = {}
        for rev in ("stable", "canary"):
            b = rng.multinomial(counts[rev], s.bucket_probs(rev, active))
            per[rev] = b
            tot[rev][0] += counts[rev]
            tot[rev][1] += errs[rev]
            tot[rev][2] = tot[rev][2] + b
        t += SCRAPE
        snaps = {rev: _snapshot(*tot[rev]) for rev in tot}
        yield Interval(
            t, w, snaps["stable"], snaps["canary"], n_c,
            (errs["stable"], errs["canary"]), (per["stable"], per["canary"]), active,
        )  # fmt: skip


def _snapshot(requests: int, errors: int, per_bucket: np.ndarray) -> Snapshot:
    cum = np.cumsum(per_bucket)
    buckets = {float(b): int(c) for b, c in zip(BOUNDS, cum[:-1], strict=True)}
    buckets[math.inf] = int(cum[-1])
    return Snapshot(requests, errors, buckets)


def nominal_quantile(cdf: Cdf, q: float) -> float:
    """The quantile a bucketed histogram would report for ``cdf`` (interpolated in a bucket)."""
    lo_b, lo_p = 0.0, 0.0
    for b in BOUNDS:
        p = cdf(b)
        if p >= q:
            return lo_b + (b - lo_b) * (q - lo_p) / (p - lo_p)
        lo_b, lo_p = b, p
    return BOUNDS[-1]


def scenarios() -> list[Scenario]:
    lat, heavy = lognormal_cdf, heavy_cdf
    slow = {"affected": 1.0, "kind": "latency"}
    at_1 = ((0.0, 0.01),)
    return [
        Scenario("null: identical, 1000 rps", True),
        Scenario("null: diurnal drift on load and errors", True, drift=0.5),
        Scenario("null: 20 rps (1 rps canary)", True, rps=20.0),
        Scenario("null: heavy-tailed latency", True, stable_latency=heavy, canary_latency=heavy),
        Scenario("null: 1% of 80 rps", True, rps=80.0, schedule=at_1),
        Scenario("null: canary better", True, canary_error=0.0025, canary_latency=scaled(lat, 0.9)),
        Scenario(
            "errors 0.1% -> 0.3%", False, stable_error=0.001, canary_error=0.003, affected=0.002
        ),
        Scenario("errors 0.5% -> 1%", False, canary_error=0.01, affected=0.005),
        Scenario("errors 1% -> 2%", False, stable_error=0.01, canary_error=0.02, affected=0.01),
        Scenario("errors 0.5% -> 1% at 20 rps", False, rps=20.0, canary_error=0.01, affected=0.005),
        Scenario(
            "errors 0.5% -> 1% from minute 12",
            False,
            canary_error=0.01,
            onset=720.0,
            affected=0.005,
        ),
        Scenario("latency x1.05", False, canary_latency=scaled(lat, 1.05), **slow),  # type: ignore[arg-type]
        Scenario("latency x1.2", False, canary_latency=scaled(lat, 1.2), **slow),  # type: ignore[arg-type]
        Scenario(
            "latency tail-only (1% x3)",
            False,
            canary_latency=tail_only(lat),
            affected=0.01,
            kind="latency",
        ),
        Scenario(
            "latency x1.2, heavy tails",
            False,
            stable_latency=heavy,
            canary_latency=scaled(heavy, 1.2),
            **slow,  # type: ignore[arg-type]
        ),
        Scenario(
            "latency x1.2 at 20 rps", False, rps=20.0, canary_latency=scaled(lat, 1.2), **slow
        ),  # type: ignore[arg-type]
        # issue 11, item 10: a +200 ms canary at a fixed low weight of 80 rps (1% is 0.8 rps)
        *(
            Scenario(
                f"latency +200 ms at {w:.0%} of 80 rps",
                False,
                rps=80.0,
                schedule=((0.0, w),),
                canary_latency=shifted(lat, 200.0),
                **slow,  # type: ignore[arg-type]
            )
            for w in (0.01, 0.05)
        ),
        Scenario(
            "errors 0.5% -> 10% at 1% of 80 rps",
            False,
            rps=80.0,
            schedule=at_1,
            canary_error=0.10,
            affected=0.095,
        ),
    ]
