"""The canary/stable error-rate ratio and its 95% interval, from the conditional binomial.

Given the errors both revisions served while the split held still, the canary's share of them
is binomial with ``theta = r*rho / (r*rho + 1)``, ``r = n_c / n_s`` its share of the requests
over stable's and ``rho`` the ratio of error rates (Poisson thinning). The estimate is the
conditional maximum likelihood and the interval inverts the score test on it (for one stratum,
Wilson's interval for ``theta``, mapped to ``rho``). Both are right with zero counts: a canary
without errors has an interval starting at 0, and when stable has no errors the estimate is
unbounded and the interval open-ended, where a continuity correction used to print a finite
ratio ("x3, x2.1-x4.2") that no data supported.

A stratum is one run of a weight: within it ``r`` is fixed, so load and error rates that
drift for both revisions alike cancel, as in the e-processes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

Stratum = tuple[float, float, float]  # canary's events x, all events s, exposure ratio r
Z95 = 1.959964
_LOG_LOW, _LOG_HIGH = math.log(1e-6), math.log(1e6)


def _score(strata: Sequence[Stratum], rho: float) -> tuple[float, float]:
    """The score ``U(rho) = sum(x - s*theta)`` and its variance ``sum(s*theta*(1-theta))``."""
    u = v = 0.0
    for x, s, r in strata:
        theta = r * rho / (r * rho + 1.0)
        u += x - s * theta
        v += s * theta * (1.0 - theta)
    return u, v


def _root(falls: Callable[[float], float]) -> float:
    """The ``rho`` where a function decreasing in ``rho`` crosses zero (bisection in log)."""
    lo, hi = _LOG_LOW, _LOG_HIGH
    for _ in range(56):  # to 1e-15 of log(rho) over the bracket
        mid = (lo + hi) / 2
        if falls(math.exp(mid)) > 0:
            lo = mid
        else:
            hi = mid
    return math.exp((lo + hi) / 2)


def _standardised(strata: Sequence[Stratum], z: float) -> Callable[[float], float]:
    def f(rho: float) -> float:
        u, v = _score(strata, rho)
        if v <= 0:  # theta at 0 or 1 in floating point: the sign of the score decides
            return math.copysign(math.inf, u) if u else -z
        return u / math.sqrt(v) - z

    return f


def estimate(strata: Sequence[Stratum]) -> float | None:
    """Conditional maximum likelihood of ``rho``: 0 without canary errors, ``inf`` without
    stable errors, None before any error."""
    x, s = sum(t[0] for t in strata), sum(t[1] for t in strata)
    if s <= 0:
        return None
    if x <= 0:
        return 0.0
    if x >= s:
        return math.inf
    return _root(lambda rho: _score(strata, rho)[0])


def interval(strata: Sequence[Stratum], z: float = Z95) -> tuple[float, float] | None:
    """Score interval of ``rho`` (pointwise, 95% by default); None before any error."""
    x, s = sum(t[0] for t in strata), sum(t[1] for t in strata)
    if s <= 0:
        return None
    low = 0.0 if x <= 0 else _root(_standardised(strata, z))
    high = math.inf if x >= s else _root(_standardised(strata, -z))
    return low, high
