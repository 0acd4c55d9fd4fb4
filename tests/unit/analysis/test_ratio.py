"""The error-rate ratio and its interval: right with zero counts, checked against scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from golive.analysis import Judge, Snapshot
from golive.analysis.evidence import RateRatioTest
from golive.analysis.sequential import SequentialConfig


def wilson_rho(x: int, s: int, r: float) -> tuple[float, float]:
    """scipy's Wilson interval of the canary's share of errors, mapped to the rate ratio."""
    ci = stats.binomtest(x, s).proportion_ci(confidence_level=0.95, method="wilson")

    def rho(theta: float) -> float:
        return math.inf if theta >= 1 else theta / (1 - theta) / r

    return rho(ci.low), rho(ci.high)


@pytest.mark.parametrize(("x", "s"), [(20, 110), (3, 7), (0, 12), (9, 9), (1, 1), (0, 1)])
def test_one_weight_gives_the_wilson_interval_of_the_canarys_share_of_errors(
    x: int, s: int
) -> None:
    test = RateRatioTest()
    test.add(x, s, 1000, 9000)
    lo, hi = test.interval() or (-1.0, -1.0)
    ref_lo, ref_hi = wilson_rho(x, s, 1000 / 9000)
    assert math.isclose(lo, ref_lo, rel_tol=1e-6, abs_tol=1e-12)
    assert hi == ref_hi if math.isinf(ref_hi) else math.isclose(hi, ref_hi, rel_tol=1e-6)
    crude = math.inf if x == s else (x / 1000) / ((s - x) / 9000)
    ratio = test.ratio()
    assert ratio == crude if math.isinf(crude) else math.isclose(ratio or 0, crude, rel_tol=1e-6)


def test_no_errors_on_stable_gives_an_open_ended_interval_not_a_finite_ratio() -> None:
    test = RateRatioTest()
    test.add(20, 20, 1000, 1000)  # canary 2.00% vs stable 0.00%: the old text said x3, x2.1-x4.2
    assert test.ratio() == math.inf
    lo, hi = test.interval() or (0, 0)
    assert hi == math.inf and lo > 4


def test_no_errors_on_canary_gives_an_interval_from_zero() -> None:
    test = RateRatioTest()
    test.add(0, 10, 5000, 45000)  # canary 0.00% vs stable 0.02%: the old text said x0.98
    assert test.ratio() == 0.0
    lo, hi = test.interval() or (1, 1)
    assert lo == 0.0 and 1.5 < hi < 10


def test_the_interval_covers_the_true_ratio_across_weights_with_rare_errors() -> None:
    rng = np.random.default_rng(3)
    rho, covered, runs = 2.0, 0, 1000
    for _ in range(runs):
        test = RateRatioTest()
        for w, p_s, n in ((0.05, 0.002, 2000), (0.25, 0.004, 2000), (0.5, 0.001, 2000)):
            n_c = int(rng.binomial(n, w))
            x, y = rng.poisson(n_c * p_s * rho), rng.poisson((n - n_c) * p_s)
            test.add(x, x + y, n_c, n - n_c)
            test.restart()  # the weight changes
        ci = test.interval()
        covered += ci is None or ci[0] <= rho <= ci[1]
    assert covered / runs >= 0.93  # nominal 95%, with room for sampling noise


def sentence(stable: tuple[int, int], canary: tuple[int, int]) -> str:
    judge = Judge(SequentialConfig(metrics=("error_rate",), min_requests=50))
    judge.update(0.0, Snapshot.empty(), Snapshot.empty(), 0.5)
    v = judge.update(5.0, Snapshot(*stable), Snapshot(*canary), 0.5)
    return v.metrics[0].sentence


def test_the_sentence_says_no_errors_on_stable_in_words() -> None:
    text = sentence((1000, 0), (1000, 20))
    assert text.startswith("canary error rate 2.00% vs 0.00% on stable (no errors on stable; ")
    assert "95% interval x" in text and "or more" in text
    assert "x3" not in text


def test_the_sentence_says_no_errors_on_canary_and_bounds_it_from_above() -> None:
    text = sentence((45000, 9), (45000, 0))
    assert text.startswith("canary error rate 0.00% vs 0.02% on stable (no errors on canary; ")
    assert "95% interval up to x" in text and "x0.98" not in text
