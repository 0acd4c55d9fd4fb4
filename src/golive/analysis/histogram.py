"""Latency histograms as the sequential judge needs them: aligned, per bucket, rescaled.

Snapshots carry cumulative buckets ("requests at or below this bound"), possibly on different
layouts. The tests want per-bucket counts of both revisions on one layout, and the latency
tolerance wants the canary's latencies divided by ``1 + tolerance``, which moves counts across
bucket bounds; inside a bucket latencies are taken as spread evenly in log-latency.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

MAX_TAIL_BOUNDS = 3
TAIL_START = 0.2  # a bound is a "tail" bound when at most 20% of stable's requests exceed it


def _cumulative_at(buckets: Mapping[float, int], bound: float) -> float:
    return max((c for b, c in buckets.items() if b <= bound), default=0)


def aligned_counts(
    stable: Mapping[float, int], canary: Mapping[float, int]
) -> tuple[list[float], list[float], list[float]]:
    """Per-bucket counts of both revisions on the union of their bounds (``inf`` last)."""
    bounds = sorted(set(stable) | set(canary) | {math.inf})
    return bounds, _per_bucket(stable, bounds), _per_bucket(canary, bounds)


def _per_bucket(buckets: Mapping[float, int], bounds: Sequence[float]) -> list[float]:
    if not buckets:
        return [0.0] * len(bounds)
    total = max(buckets.values())
    out, below = [], 0.0
    for b in bounds:
        at = total if math.isinf(b) else _cumulative_at(buckets, b)
        out.append(max(0.0, at - below))
        below = max(below, at)
    return out


def deflate(bounds: Sequence[float], counts: Sequence[float], factor: float) -> list[float]:
    """Counts of ``latency / factor`` on the same bounds (factor >= 1 moves counts down)."""
    if factor == 1.0:
        return list(counts)
    out = [0.0] * len(bounds)
    lower = 0.0
    for count, upper in zip(counts, bounds, strict=True):
        if count:
            lo, hi = lower / factor, upper / factor
            for i, (c_lo, c_hi) in enumerate(zip([0.0, *bounds[:-1]], bounds, strict=True)):
                share = _overlap(lo, hi, c_lo, c_hi)
                if share > 0:
                    out[i] += count * share
        lower = upper
    return out


def _overlap(lo: float, hi: float, c_lo: float, c_hi: float) -> float:
    """Share of (lo, hi] inside (c_lo, c_hi], uniform in log-latency (linear from 0)."""
    a, b = max(lo, c_lo), min(hi, c_hi)
    if b <= a:
        return 0.0
    if math.isinf(hi):
        return 1.0 if math.isinf(b) else 0.0
    if lo <= 0:
        return (b - a) / hi
    return math.log(b / a) / math.log(hi / lo)


def tail_bounds(stable: Mapping[float, int]) -> list[float]:
    """The first finite bound at most 20% of stable's requests exceed, and the next two.

    Bounds further out are kept even when no stable request reached them yet: a regression
    that only shows in the far tail is exactly what they are for.
    """
    if not stable:
        return []
    total = max(stable.values())
    finite = [(b, c) for b, c in sorted(stable.items()) if not math.isinf(b)]
    for i, (_, c) in enumerate(finite):
        if total and (total - c) / total <= TAIL_START:
            return [b for b, _ in finite[i : i + MAX_TAIL_BOUNDS]]
    return []


def slower_share(stable: Mapping[float, int], canary: Mapping[float, int]) -> float | None:
    """P(a canary request is slower than a stable one), ties within a bucket counting half.

    0.5 means no difference; it is the Mann-Whitney effect read from histograms.
    """
    _, s, c = aligned_counts(stable, canary)
    n_s, n_c = sum(s), sum(c)
    if not n_s or not n_c:
        return None
    below, wins = 0.0, 0.0
    for s_k, c_k in zip(s, c, strict=True):
        wins += c_k * (below + s_k / 2)
        below += s_k
    return wins / (n_s * n_c)
