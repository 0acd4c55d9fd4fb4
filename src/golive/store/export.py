"""A rollout's journal as a file a third party can check without golive's key.

The journal's hashes are HMACs: only the key's holder can recompute them. An export therefore
adds an *unkeyed* chain beside them: each line's ``link`` is a SHA-256 over the link before it
and everything on the line (its seq, time, kind, message, data and its keyed ``prev_hash`` and
``hash``). The last link is the **public head** (``sha256:...``); it is a function of the
journal alone, so golive prints it in every report and anyone can recompute it at any time.

``verify_export`` recomputes the chain. On its own it proves that the file is internally
consistent: no line edited, inserted, deleted or moved *unless the whole chain after it was
recomputed*. Given a head obtained elsewhere (a report, a release note, a notification), it
proves that the file's entries up to that head are exactly the journal whose head that was: a
truncated or rewritten export no longer reaches it (entries written after it are counted, not
vouched for). Given the key (``key_id`` names it), each line's
HMAC is checked too, which proves that golive wrote the content. Layout (JSON Lines, ASCII)::

    {"golive_export": 1, "rollout": ID, "service": ..., "key_id": ..., ...}   line 1
    {"seq": ..., "at": ..., "kind": ..., "message": ..., "data": {...},
     "prev_hash": ..., "hash": ..., "prev_link": ..., "link": ...}           one per event
    {"end": {"events": N, "seq": S, "hash": HMAC, "head": "sha256:..."}}     last line
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from hashlib import sha256

from golive.store.records import GENESIS, StoredEvent, event_parts
from golive.store.seal import Seal, canonical

FORMAT = 1
FIELDS = ("seq", "at", "kind", "message", "data", "prev_hash", "hash", "prev_link", "link")


@dataclass(frozen=True, slots=True)
class ChainHead:
    """Where a rollout's journal ends: its last seq, keyed hash and public (SHA-256) head."""

    rollout_id: str
    events: int
    seq: int
    hash: str  # the HMAC of the last event (as ``golive audit verify`` prints it)
    public: str  # "sha256:<hex>": the export's last link, checkable without the key

    def describe(self) -> str:
        return f"{self.events} events, last seq {self.seq}, {self.public}"

    def to_json(self) -> dict[str, object]:
        return {"rollout": self.rollout_id, "events": self.events, "seq": self.seq,
                "hash": self.hash, "head": self.public}  # fmt: skip


def genesis_link(rollout_id: str) -> str:
    return sha256(canonical(("golive-export", FORMAT, rollout_id))).hexdigest()


def link_of(prev_link: str, rollout_id: str, line: dict[str, object]) -> str:
    parts = [line[f] for f in ("seq", "at", "kind", "message", "data", "prev_hash", "hash")]
    return sha256(canonical(("link", prev_link, rollout_id, *parts))).hexdigest()


def event_lines(rollout_id: str, events: Sequence[StoredEvent]) -> list[dict[str, object]]:
    """The journal as export lines, each with its link."""
    lines, prev = [], genesis_link(rollout_id)
    for e in events:
        line: dict[str, object] = {"seq": e.seq, "at": e.at, "kind": e.kind,
                                   "message": e.message, "data": e.data,
                                   "prev_hash": e.prev_hash, "hash": e.hash}  # fmt: skip
        link = link_of(prev, rollout_id, line)
        lines.append({**line, "prev_link": prev, "link": link})
        prev = link
    return lines


def chain_head(rollout_id: str, events: Sequence[StoredEvent]) -> ChainHead:
    """The journal's head, keyed and public: what reports and summary notifications show."""
    lines = event_lines(rollout_id, events)
    last = events[-1] if events else None
    public = str(lines[-1]["link"]) if lines else genesis_link(rollout_id)
    return ChainHead(rollout_id, len(events), last.seq if last else 0,
                     last.hash if last else GENESIS, f"sha256:{public}")  # fmt: skip


def export_text(header: dict[str, object], rollout_id: str, events: Sequence[StoredEvent]) -> str:
    """The export file: header, one line per event, the end line."""
    head = chain_head(rollout_id, events)
    rows = [{"golive_export": FORMAT, "rollout": rollout_id, **header},
            *event_lines(rollout_id, events),
            {"end": {"events": head.events, "seq": head.seq, "hash": head.hash,
                     "head": head.public}}]  # fmt: skip
    return "".join(json.dumps(r, ensure_ascii=True, sort_keys=True) + "\n" for r in rows)


@dataclass(frozen=True, slots=True)
class ExportCheck:
    """What ``verify_export`` found: ``problem`` is empty when the file verifies."""

    rollout_id: str
    problem: str = ""
    head: ChainHead | None = None
    key_checked: bool = False  # the HMACs were checked too (the key was at hand)
    head_checked: bool = False  # the file reaches the head given
    after_head: int = 0  # entries after that head (written since it was taken: not covered)

    @property
    def ok(self) -> bool:
        return not self.problem


def stored_event(rollout_id: str, line: dict[str, object]) -> StoredEvent:
    return StoredEvent(int(str(line["seq"])), rollout_id, float(str(line["at"])),
                       str(line["kind"]), str(line["message"]),
                       line["data"],  # type: ignore[arg-type]
                       str(line["prev_hash"]), str(line["hash"]))  # fmt: skip


def keyed_ok(seal: Seal, rollout_id: str, e: StoredEvent) -> bool:
    data = json.dumps(e.data, sort_keys=True, default=str)  # as the store wrote it
    return seal.check(e.hash, *event_parts(e.prev_hash, rollout_id, e.at, e.kind, e.message, data))
