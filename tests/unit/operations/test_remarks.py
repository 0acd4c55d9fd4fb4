"""What people write into the record, checked before it is: one line of text, whole characters."""

from __future__ import annotations

import pytest

from golive.errors import StateError
from golive.operations.remarks import remark


def test_a_remark_with_half_a_character_is_refused_naming_where() -> None:
    """Invalid UTF-8 on a command line reaches Python as a lone surrogate ('\\udcff'), and a
    JSON body can escape one: no UTF-8 store can hold it (it was an internal error)."""
    with pytest.raises(StateError, match=r"--reason must be text: at position 4 .*U\+DCFF"):
        remark("bad\udcff", "--reason")
    assert remark(" fine: ünïcode ✓ ", "--reason") == "fine: ünïcode ✓"
