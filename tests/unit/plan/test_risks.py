"""The plan's risk register: rows of risk, likelihood, impact and mitigation, validated like
every field (file:line:col and the field's path)."""

from __future__ import annotations

import pytest

from golive.errors import PlanError
from golive.plan.loader import parse_plan
from golive.plan.model import Risk
from tests.conftest import GOOD_PLAN

RISKS = """\
risks:
  - risk: "payment provider times out under load"
    likelihood: medium
    impact: high
    mitigation: "trigger on error rate; provider status page watched"
  - {risk: "cache cold after deploy", likelihood: high, impact: low, mitigation: "warm-up job"}
"""


def test_risks_are_read_in_order() -> None:
    plan = parse_plan(GOOD_PLAN + RISKS, "plan.yaml")
    assert plan.risks == (
        Risk("payment provider times out under load", "medium", "high",
             "trigger on error rate; provider status page watched"),
        Risk("cache cold after deploy", "high", "low", "warm-up job"),
    )  # fmt: skip
    assert parse_plan(GOOD_PLAN, "plan.yaml").risks == ()


@pytest.mark.parametrize(
    "old, new, expected",
    [
        (
            "likelihood: medium",
            "likelihood: likely",
            "plan.yaml:25:17: risks[0].likelihood: input should be 'low', 'medium' or 'high'",
        ),
        ("impact: low", "impact: 3", "risks[1].impact"),
        ('    mitigation: "trigger', '    owner: x\n    mitigation: "trigger', "risks[0].owner"),
        ('  - {risk: "cache cold after deploy", ', "  - {", "risks[1].risk"),
    ],
)
def test_a_bad_risk_names_file_line_column_and_field(old: str, new: str, expected: str) -> None:
    with pytest.raises(PlanError) as info:
        parse_plan(GOOD_PLAN + RISKS.replace(old, new, 1), "plan.yaml")
    assert expected in "\n".join(str(i) for i in info.value.issues)
