"""An exported journal checks out without the key, and any edit of one of its lines is named by
its line number: content, order, a line deleted or inserted, the end cut (given the head)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from golive.core.state import Event, Phase, RolloutId, RolloutState
from golive.plan.model import Split
from golive.store.export import chain_head, export_text
from golive.store.exportcheck import verify_export
from golive.store.records import RolloutRecord, StoredEvent
from golive.store.seal import Seal
from golive.store.sqlite import SQLiteStore
from tests.conftest import GOOD_PLAN

HOSTILE = [
    Event(
        "note",
        "<script>alert(1)</script> | pipe\nnew line",
        {"who": "<img src=x onerror=alert(1)>"},
    ),
    Event("note", "x" * 1_000_000, {"big": "y" * 1000}),
    Event("note", "line\u2028separator \u2029 \\u0041 \x00 nul 🚀 \ud7ff", {"esc": "\\n\"'"}),
    Event("note", "deep", {"nested": {"a": [{"b": [1, 2.5, None, True]}]}}),
]


@pytest.fixture
async def exported(tmp_path: Path) -> tuple[SQLiteStore, str, list[str]]:
    store = SQLiteStore(tmp_path / "g.db")
    st = RolloutState(RolloutId("svc-1"), Phase.PROGRESSING, 0, 1.0, Split.all_stable(), 1.0)
    record = RolloutRecord(st.id, "svc", "p.yaml", "", GOOD_PLAN, st, 1, 1.0, 1.0, None)
    await store.create(record, [Event("rollout_started", "go", {"by": "alice"})], 1.0)
    version = 1
    for i, event in enumerate(HOSTILE):
        version = await store.commit(st, [event, Event("tick", f"tick {i}")], version, 2.0 + i)
    events = await store.events("svc-1")
    text = export_text({"key_id": store.seal.key_id}, "svc-1", events)
    head = chain_head("svc-1", events).public
    return store, head, text.split("\n")[:-1]


def check(lines: list[str], head: str | None = None, seal: Seal | None = None) -> str:
    return verify_export("\n".join(lines) + "\n", head, seal).problem


def test_an_export_verifies_with_the_key_and_ends_at_the_reports_head(
    exported: tuple[SQLiteStore, str, list[str]],
) -> None:
    store, head, lines = exported
    found = verify_export("\n".join(lines) + "\n", head, store.seal)
    assert found.ok and found.key_checked and found.head_checked, found.problem
    assert found.head is not None and found.head.events == 1 + 2 * len(HOSTILE)
    assert len(lines) == found.head.events + 2  # header, events, end line
    assert all(line.isascii() for line in lines)  # U+2028 never splits a line
    assert json.loads(lines[4])["message"] == "x" * 1_000_000


def test_without_the_key_nor_a_head_only_consistency_is_claimed(
    exported: tuple[SQLiteStore, str, list[str]],
) -> None:
    _, _, lines = exported
    found = verify_export("\n".join(lines) + "\n")
    assert found.ok and not found.key_checked and not found.head_checked


def edited(line: str, **changes: object) -> str:
    value = json.loads(line)
    value.update(changes)
    return json.dumps(value)


@pytest.mark.parametrize("field", ["message", "kind", "at", "seq", "data", "hash"])
def test_editing_one_field_names_the_line(
    exported: tuple[SQLiteStore, str, list[str]], field: str
) -> None:
    _, _, lines = exported
    old = json.loads(lines[4])[field]
    new = {"message": "nothing happened", "kind": "tick", "at": old + 1 if field == "at" else 0,
           "seq": old, "data": {"esc": "changed"}, "hash": "0" * 64}[field]  # fmt: skip
    lines[4] = edited(lines[4], **{field: new})
    if field == "seq":  # a seq still in order, but not the one the link covers
        lines[4] = edited(lines[4], seq=old + 1000)
    assert check(lines).startswith("line 5: its content does not match its link (edited?)")


def test_an_edit_in_the_hostile_lines_is_named(
    exported: tuple[SQLiteStore, str, list[str]],
) -> None:
    _, _, lines = exported
    big = [*lines]
    big[4] = big[4].replace("xxxx", "xxxy", 1)  # one character of the 1 MB message
    assert check(big).startswith("line 5: its content does not match its link")
    escaped = [*lines]
    assert "\\u2028" in escaped[6]
    escaped[6] = escaped[6].replace("\\u2028", "\\u2029", 1)  # one escape of the unicode line
    assert check(escaped).startswith("line 7: its content does not match its link")
    markup = [*lines]
    markup[2] = markup[2].replace("alert(1)", "alert(2)", 1)
    assert check(markup).startswith("line 3: its content does not match its link")


def test_deleting_inserting_or_moving_a_line_is_named(
    exported: tuple[SQLiteStore, str, list[str]],
) -> None:
    _, _, lines = exported
    assert check(lines[:4] + lines[5:]).startswith("line 5: the line before it is missing")
    assert check([*lines[:4], lines[3], *lines[4:]]).startswith("line 5: the line before it")
    moved = [*lines[:3], lines[4], lines[3], *lines[5:]]
    assert check(moved).startswith("line 4: the line before it is missing or changed")


def test_a_cut_end_is_named_and_a_recomputed_end_is_caught_by_the_head(
    exported: tuple[SQLiteStore, str, list[str]],
) -> None:
    _store, head, lines = exported
    assert (
        check(lines[:-1])
        == f"the file ends at line {len(lines) - 1} without its end line (truncated?)"
    )
    assert check(lines[:-2] + lines[-1:]).startswith(
        f"line {len(lines) - 1}: the end line does not"
    )
    assert check([*lines, "{}"]).startswith(f"line {len(lines) + 1}: text after the end line")
    # whoever cuts the last event and writes a matching end line: consistent, but not the head
    events = [json.loads(x) for x in lines[1:-2]]
    last = events[-1]
    end = {"events": len(events), "seq": last["seq"], "hash": last["hash"],
           "head": f"sha256:{last['link']}"}  # fmt: skip
    cut = [*lines[:-2], json.dumps({"end": end})]
    assert check(cut) == ""
    assert "is not in the file" in check(cut, head)


def test_a_rewrite_with_every_link_recomputed_is_caught_by_the_key_or_the_head(
    exported: tuple[SQLiteStore, str, list[str]],
) -> None:
    store, head, lines = exported
    events = [json.loads(x) for x in lines[1:-1]]
    events[1]["message"] = "approved by everyone"
    forged = [StoredEvent(e["seq"], "svc-1", e["at"], e["kind"], e["message"], e["data"],
                          e["prev_hash"], e["hash"]) for e in events]  # fmt: skip
    rewritten = export_text({"key_id": store.seal.key_id}, "svc-1", forged).split("\n")[:-1]
    assert check(rewritten) == ""  # consistent: the unkeyed chain alone cannot tell
    assert check(rewritten, seal=store.seal).startswith("line 3: its HMAC does not match")
    assert "is not in the file" in check(rewritten, head)


@pytest.mark.parametrize(
    "text, problem",
    [
        ("", "the file is empty"),
        ("not json\n", "line 1: not a JSON object"),
        ('{"golive_export": 2, "rollout": "x"}\n', "line 1: not the header of a golive export"),
        ('{"golive_export": 1, "rollout": "x"}\n' + "[" * 100_000 + "\n", "line 2: not a JSON"),
        ('{"golive_export": 1, "rollout": "x"}\n[1]\n', "line 2: not a JSON object"),
        ('{"golive_export": 1, "rollout": "x"}\n{"seq": 1}\n', "line 2: not an event line"),
    ],
)
def test_a_file_that_is_no_export_is_named_not_a_traceback(text: str, problem: str) -> None:
    assert verify_export(text).problem.startswith(problem)


def test_the_key_is_never_in_the_export(exported: tuple[SQLiteStore, str, list[str]]) -> None:
    store, _, lines = exported
    key = store.seal._key.hex()
    assert all(key not in line for line in lines)
    assert json.loads(lines[0])["key_id"] == store.seal.key_id


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=200), st.sampled_from([
    '{"golive_export": 1, "rollout": "svc-1"}', '{"end": {}}', '{"seq": true}', "NaN", "[]",
    '{"seq": 1, "at": 1e999, "kind": "", "message": "", "data": {}, "prev_hash": "",'
    ' "hash": "", "prev_link": "", "link": ""}',
])), max_size=6))  # fmt: skip
def test_no_text_is_anything_but_a_verdict(lines: list[str]) -> None:
    found = verify_export("\n".join(lines))
    assert found.ok or found.problem


async def test_entries_written_after_the_head_are_counted_not_vouched_for(
    exported: tuple[SQLiteStore, str, list[str]],
) -> None:
    store, head, _ = exported
    st = (await store.load("svc-1")).state
    await store.commit(st, [Event("note", "later")], (await store.load("svc-1")).version, 99.0)
    text = export_text({}, "svc-1", await store.events("svc-1"))
    found = verify_export(text, head)
    assert found.ok and found.head_checked and found.after_head == 1
    lines = text.split("\n")
    lines[3] = lines[3].replace('"kind": "', '"kind": "x', 1)  # before the head: still caught
    assert verify_export("\n".join(lines), head).problem.startswith("line 4: its content")
