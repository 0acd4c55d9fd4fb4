"""Who may use an operator verb: the words of ``permissions`` are never roles someone holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from golive.engine.permissions import permitted
from golive.errors import StateError
from golive.identity import _from_file
from golive.plan.loader import parse_plan
from tests.conftest import GOOD_PLAN

PLAN = parse_plan(GOOD_PLAN, "plan.yaml")


def test_holding_a_role_named_starter_or_anyone_grants_nothing() -> None:
    """An identity claiming the role 'starter' resumed a rollout someone else started."""
    assert not permitted(PLAN, "resume", "mallory", ("starter", "anyone"), "alice")
    assert permitted(PLAN, "resume", "ALICE", (), "alice")
    assert permitted(PLAN, "resume", "mallory", ("operator",), "alice")


def test_an_identity_file_may_not_claim_a_permission_word_as_a_role(tmp_path: Path) -> None:
    path = tmp_path / "id.yaml"
    path.write_text("user: mallory\nroles: [starter]\n")
    with pytest.raises(StateError, match="roles must be a list of names"):
        _from_file(path)


@pytest.mark.parametrize("name", ['"alice\\n"', '"\\u202eecila"', '"bob\\x1b[2J"', '""'])
def test_an_identity_file_name_is_one_printable_line(tmp_path: Path, name: str) -> None:
    """A trailing newline passed the name check ('$' matches before it) and reached the
    journal; a bidirectional override showed the name reversed."""
    path = tmp_path / "id.yaml"
    path.write_text(f"user: {name}\nroles: []\n")
    with pytest.raises(StateError):
        _from_file(path)
