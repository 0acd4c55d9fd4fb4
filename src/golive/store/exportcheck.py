"""Checking an exported journal (``golive audit verify --file``): the first bad line, by number.

Every line is read as it stands (no line is trusted for the ones after it): the header names
the rollout; each event line must follow the line before it (``prev_link`` and the keyed
``prev_hash`` equal that line's ``link`` and ``hash``, its seq is larger) and its ``link`` must
be the SHA-256 of its own content; the end line must count the events and end at the last link;
nothing may follow it. What this proves is in ``store/export.py`` and docs/audit.md.
"""

from __future__ import annotations

import json
from dataclasses import replace

from golive.store.export import (
    FIELDS,
    FORMAT,
    ChainHead,
    ExportCheck,
    genesis_link,
    keyed_ok,
    link_of,
    stored_event,
)
from golive.store.records import GENESIS
from golive.store.seal import Seal


class _Bad(Exception):
    pass


def _parse(number: int, text: str) -> dict[str, object]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise _Bad(f"line {number}: not a JSON object (edited or cut?)") from None
    if not isinstance(value, dict):
        raise _Bad(f"line {number}: not a JSON object (edited?)")
    return value


def _event_shape(number: int, line: dict[str, object]) -> None:
    missing = [f for f in FIELDS if f not in line]
    if missing or set(line) - set(FIELDS):
        raise _Bad(f"line {number}: not an event line (fields {sorted(line)}; edited?)")
    ints = isinstance(line["seq"], int) and not isinstance(line["seq"], bool)
    strs = all(isinstance(line[f], str) for f in FIELDS if f not in ("seq", "at", "data"))
    at_ok = isinstance(line["at"], int | float) and not isinstance(line["at"], bool)
    if not (ints and strs and at_ok and isinstance(line["data"], dict)):
        raise _Bad(f"line {number}: a field has the wrong type (edited?)")


def verify_export(text: str, head: str | None = None, seal: Seal | None = None) -> ExportCheck:
    """Check an export's text; ``head`` a public head obtained elsewhere; ``seal`` the key
    (used only when its key id is the one the export names)."""
    rollout = ""
    try:
        lines = text.split("\n")  # never splitlines: U+2028 is no line end in JSON Lines
        if lines and lines[-1] == "":
            lines.pop()
        if not lines:
            raise _Bad("the file is empty")
        header = _parse(1, lines[0])
        rollout = header.get("rollout")  # type: ignore[assignment]
        if header.get("golive_export") != FORMAT or not isinstance(rollout, str):
            raise _Bad(f"line 1: not the header of a golive export (format {FORMAT})")
        keyed = seal is not None and header.get("key_id") == seal.key_id
        links: dict[str, int] = {}
        found = _walk(lines, rollout, seal if keyed else None, links)
        check = ExportCheck(rollout, "", found, keyed)
        if head is not None:
            given = head if head.startswith("sha256:") else f"sha256:{head}"
            if given.removeprefix("sha256:") not in links:
                raise _Bad(
                    f"the head you gave ({given}) is not in the file, which ends at "
                    f"{found.public}: it was truncated or rewritten, or the head is another "
                    "rollout's"
                )
            after = found.events - links[given.removeprefix("sha256:")]
            check = replace(check, head_checked=True, after_head=after)
        return check
    except _Bad as exc:
        return ExportCheck(rollout if isinstance(rollout, str) else "", str(exc))
    except RecursionError:  # data nested deeper than can be re-encoded: no golive export
        return ExportCheck(
            rollout if isinstance(rollout, str) else "", "a line is nested too deeply"
        )


def _walk(lines: list[str], rollout: str, seal: Seal | None, links: dict[str, int]) -> ChainHead:
    """Check every line; ``links`` gets each link and how many entries it covers."""
    link, hash_, seq, count = genesis_link(rollout), GENESIS, 0, 0
    links[link] = 0
    for number, raw in enumerate(lines[1:], start=2):
        line = _parse(number, raw)
        if "end" in line:
            end = line["end"]
            want = {"events": count, "seq": seq, "hash": hash_, "head": f"sha256:{link}"}
            if end != want:
                raise _Bad(f"line {number}: the end line does not match the lines before it "
                           "(lines deleted, inserted or edited?)")  # fmt: skip
            if number != len(lines):
                raise _Bad(f"line {number + 1}: text after the end line (appended?)")
            return ChainHead(rollout, count, seq, hash_, f"sha256:{link}")
        _event_shape(number, line)
        if line["prev_link"] != link or line["prev_hash"] != hash_:
            raise _Bad(f"line {number}: the line before it is missing or changed "
                       "(deleted, inserted or moved?)")  # fmt: skip
        if int(str(line["seq"])) <= seq:
            raise _Bad(f"line {number}: seq {line['seq']} does not come after {seq} (moved?)")
        if link_of(link, rollout, line) != line["link"]:
            raise _Bad(f"line {number}: its content does not match its link (edited?)")
        event = stored_event(rollout, line)
        if seal is not None and not keyed_ok(seal, rollout, event):
            raise _Bad(f"line {number}: its HMAC does not match under key {seal.key_id} "
                       "(edited, and the links after it recomputed?)")  # fmt: skip
        link, hash_, seq, count = str(line["link"]), event.hash, event.seq, count + 1
        links[link] = count
    raise _Bad(f"the file ends at line {len(lines)} without its end line (truncated?)")
