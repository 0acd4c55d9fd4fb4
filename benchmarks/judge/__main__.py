"""Canary judges side by side on simulated rollouts (``scripts/bench judge [--full]``).

Every run simulates one rollout (5% for 10 min, 25% for 10 min, 50% for 10 min, a scrape every
5 s; the scenarios "at 1%" and "at 5%" hold that weight for 30 min at 80 rps) and feeds the
*same* counters to every judge (common random numbers). A judge's run ends at its first
rollback; a promotion ends the analysis step early but the judge keeps watching the later
steps, as in a real rollout ("promoted it": promoted while a regression ran).

Printed per scenario and judge: false-rollback rate (nulls, with a 95% Wilson interval),
detection rate, time to detect (median, p90), canary and bad requests served before the
rollback, time to promote, and the median paired ratios of bad requests served before the
rollback and of time to detect to the oracle's.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import statistics
import sys
import time
from dataclasses import dataclass

import numpy as np

from benchmarks.judge.sim import HORIZON, Scenario, nominal_quantile, scenarios, simulate
from golive.analysis.judge import Call, Judge, JudgeImpl
from golive.analysis.mannwhitney import MannWhitneyConfig
from golive.analysis.sequential import SequentialConfig
from golive.analysis.snapshot import Snapshot
from golive.analysis.threshold import ThresholdConfig

ORACLE_ALPHA = 0.01
ERR_TOL, LAT_TOL = 0.05, 0.01  # the defaults
JUDGES = ("golive", "kayenta", "argo", "flagger")


def build(name: str, s: Scenario) -> JudgeImpl:
    """The judges as configured in the benchmark (see docs/benchmarks.md for the reasoning)."""
    if name == "golive":
        cfg = SequentialConfig(error_tolerance=ERR_TOL, latency_tolerance=LAT_TOL)
        return Judge(cfg)
    if name == "kayenta":
        return Judge(MannWhitneyConfig(interval=300.0, latency_quantile=0.99))
    # Argo and Flagger: fixed limits a person would set from stable's normal behaviour:
    # 1.5 x its error rate, 1.1 x its p99 latency, measured over the last minute.
    limits = {
        "max_error_rate": 1.5 * s.stable_error,
        "max_latency_ms": 1.1 * nominal_quantile(s.stable_latency, 0.99),
        "latency_quantile": 0.99,
        "window": 60.0,
        "interval": 60.0,
    }
    if name == "argo":
        return Judge(ThresholdConfig(style="argo", failure_limit=3, **limits))  # type: ignore[arg-type]
    return Judge(ThresholdConfig(style="flagger", failure_limit=5, **limits))  # type: ignore[arg-type]


@dataclass
class Outcome:
    rollback: float | None = None
    promote: float | None = None
    canary_requests: int = 0
    bad_requests: float = 0.0


def run_one(args: tuple[int, int]) -> dict[str, Outcome]:
    index, seed = args
    s = scenarios()[index]
    judges = {name: build(name, s) for name in JUDGES}
    out = {name: Outcome() for name in [*JUDGES, "oracle"]}
    llr, threshold = 0.0, math.log(1 / ORACLE_ALPHA)
    served = bad = 0.0
    for judge in judges.values():  # the canary starts from zero; so do both counters here
        judge.update(0.0, Snapshot.empty(), Snapshot.empty(), s.schedule[0][1])
    for iv in simulate(s, seed):
        served += iv.n_canary
        bad += iv.n_canary * s.affected if iv.active else 0.0
        for name in list(judges):
            v = judges[name].update(iv.t, iv.stable, iv.canary, iv.weight)
            o = out[name]
            if v.decision is Call.PROMOTE and o.promote is None:
                o.promote = iv.t  # the step ends early; the judge keeps watching later steps
            if v.decision is Call.ROLLBACK:
                o.rollback = iv.t
                o.canary_requests, o.bad_requests = int(served), bad
                del judges[name]
        if not s.null and out["oracle"].rollback is None and iv.active:
            llr += _oracle_step(s, iv)
            if llr >= threshold:
                out["oracle"] = Outcome(iv.t, None, int(served), bad)
        if not judges and (s.null or out["oracle"].rollback is not None):
            break
    return out


def _oracle_step(s: Scenario, iv: object) -> float:
    """Log likelihood ratio of the canary's interval under the truth vs under stable's law."""
    _, p_s, p_c, _ = s.rates(iv.t - 2.5)  # type: ignore[attr-defined]
    e_c = iv.errors[1]  # type: ignore[attr-defined]
    n_c = iv.n_canary  # type: ignore[attr-defined]
    step = 0.0
    if p_c != p_s:
        step += e_c * math.log(p_c / p_s) + (n_c - e_c) * math.log((1 - p_c) / (1 - p_s))
    pc, ps = s.bucket_probs("canary", True), s.bucket_probs("stable")
    if not np.array_equal(pc, ps):
        ok = (pc > 0) & (ps > 0)
        step += float(np.sum(iv.buckets[1][ok] * np.log(pc[ok] / ps[ok])))  # type: ignore[attr-defined]
    return step


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _q(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return float(np.quantile(values, q))


def _t(x: float | None) -> str:
    return "-" if x is None else f"{x:.0f}s"


def report(s: Scenario, runs: list[dict[str, Outcome]]) -> list[str]:
    n = len(runs)
    rows = [f"\n### {s.name} ({n} runs)\n"]
    if s.null:
        rows.append("| judge | false rollbacks | 95% interval | promoted | time to promote p50 |")
        rows.append("|---|---|---|---|---|")
        for name in JUDGES:
            k = sum(r[name].rollback is not None for r in runs)
            lo, hi = wilson(k, n)
            promos = [r[name].promote for r in runs if r[name].promote is not None]
            rows.append(
                f"| {name} | {k / n:.1%} ({k}/{n}) | {lo:.1%}-{hi:.1%} | {len(promos) / n:.1%} "
                f"| {_t(_q(promos, 0.5))} |"  # type: ignore[arg-type]
            )
        return rows
    rows.append(
        "| judge | detected | promoted it | time to detect p50 / p90 | canary requests "
        "before rollback | bad requests | bad x oracle | time x oracle (paired medians) |"
    )
    rows.append("|---|---|---|---|---|---|---|---|")
    for name in [*JUDGES, "oracle"]:
        hits = [r for r in runs if r[name].rollback is not None]
        times = [r[name].rollback for r in hits]
        promoted = sum(
            r[name].promote is not None
            and r[name].promote > s.onset  # type: ignore[operator]
            and (r[name].rollback is None or r[name].promote < r[name].rollback)  # type: ignore[operator]
            for r in runs
        )
        ratios = [
            r[name].rollback / r["oracle"].rollback  # type: ignore[operator]
            for r in hits
            if r["oracle"].rollback
        ]
        ratio = "-" if not ratios or name == "oracle" else f"x{statistics.median(ratios):.2f}"
        bad_ratios = [
            r[name].bad_requests / r["oracle"].bad_requests
            for r in hits
            if r["oracle"].rollback and r["oracle"].bad_requests
        ]
        bad_ratio = (
            "-" if not bad_ratios or name == "oracle" else f"x{statistics.median(bad_ratios):.2f}"
        )
        canary = statistics.median([r[name].canary_requests for r in hits]) if hits else None
        badm = statistics.median([r[name].bad_requests for r in hits]) if hits else None
        rows.append(
            f"| {name} | {len(hits) / n:.0%} | {promoted / n:.0%} "
            f"| {_t(_q(times, 0.5))} / {_t(_q(times, 0.9))} "  # type: ignore[arg-type]
            f"| {'-' if canary is None else f'{canary:,.0f}'} "
            f"| {'-' if badm is None else f'{badm:,.0f}'} | {bad_ratio} | {ratio} |"
        )
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(prog="scripts/bench judge")
    ap.add_argument("--full", action="store_true", help="1000 runs per null, 300 per regression")
    ap.add_argument("--nulls", type=int, help="runs per null scenario")
    ap.add_argument("--regressions", type=int, help="runs per regression scenario")
    ap.add_argument("--only", help="only scenarios whose name contains this")
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    nulls = a.nulls or (1000 if a.full else 100)
    regressions = a.regressions or (300 if a.full else 30)
    chosen = [(i, s) for i, s in enumerate(scenarios()) if not a.only or a.only in s.name]
    started = time.perf_counter()
    print(f"# Canary judges, simulated rollouts ({HORIZON / 60:.0f} min, scrape 5 s)")
    with multiprocessing.Pool(a.workers) as pool:
        for i, s in chosen:
            n = nulls if s.null else regressions
            runs = pool.map(run_one, [(i, 1000 * i + seed) for seed in range(n)], chunksize=4)
            print("\n".join(report(s, runs)), flush=True)
    print(f"\n({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
