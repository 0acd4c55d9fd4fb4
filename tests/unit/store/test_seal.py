"""The journal key: created private on first use, refused when others may read it, and MACs
that do not change between runs."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from golive.errors import StateError
from golive.store.seal import KEY_ENV, Seal


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_key_is_created_0600_in_a_0700_directory_and_reused(tmp_path: Path) -> None:
    seal = Seal.load(tmp_path)
    key = tmp_path / "keys" / "journal.key"
    assert mode(key) == 0o600 and mode(key.parent) == 0o700
    assert len(bytes.fromhex(key.read_text().strip())) == 32
    again = Seal.load(tmp_path)
    assert again.mac("event", 1, "x") == seal.mac("event", 1, "x")  # the same key, not a new one
    assert "journal.key" in repr(seal) and key.read_text().strip() not in repr(seal)


def test_a_key_others_may_read_is_refused(tmp_path: Path) -> None:
    Seal.load(tmp_path)
    key = tmp_path / "keys" / "journal.key"
    key.chmod(0o644)
    with pytest.raises(StateError, match=r"may be read by others \(mode 0644\).*chmod 600"):
        Seal.load(tmp_path)


def test_a_key_that_is_not_a_regular_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "dir.key").mkdir(mode=0o700)
    monkeypatch.setenv(KEY_ENV, str(tmp_path / "dir.key"))
    with pytest.raises(StateError, match="is not a regular file"):
        Seal.load(tmp_path / "state")


def test_golive_key_file_keeps_the_key_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "vault" / "golive.key"
    monkeypatch.setenv(KEY_ENV, str(elsewhere))
    Seal.load(tmp_path / "state")
    assert mode(elsewhere) == 0o600
    assert not (tmp_path / "state" / "keys").exists()


def test_an_unreadable_key_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if os.geteuid() == 0:  # root reads any file: make it unreadable as a key instead
        (tmp_path / "k").write_text("not hex\n")
        (tmp_path / "k").chmod(0o600)
        monkeypatch.setenv(KEY_ENV, str(tmp_path / "k"))
        with pytest.raises(StateError, match="is not hex"):
            Seal.load(tmp_path)
        return
    (tmp_path / "k").write_text("00" * 32)
    (tmp_path / "k").chmod(0o000)
    monkeypatch.setenv(KEY_ENV, str(tmp_path / "k"))
    with pytest.raises(StateError, match="cannot use the journal key"):
        Seal.load(tmp_path)


def test_macs_are_stable_keyed_and_checked() -> None:
    seal = Seal(bytes(range(32)))
    mac = seal.mac("event", "0" * 64, "r1", 1.5, "kind", "message", '{"a":1}')
    # pinned: a change of the encoding would leave every record written before it unverifiable
    assert mac == "4958aece66553ca4c461f01fbe4c291b783fbac6f35f4ddd61e2639bc48c81d6"
    assert seal.mac({"b": 1, "a": 2}) == seal.mac({"a": 2, "b": 1})  # canonical JSON
    assert seal.check(mac, "event", "0" * 64, "r1", 1.5, "kind", "message", '{"a":1}')
    assert not seal.check(mac, "event", "0" * 64, "r1", 1.5, "kind", "message", '{"a":2}')
    assert not Seal(bytes(32)).check(mac, "event", "0" * 64, "r1", 1.5, "kind", "message",
                                     '{"a":1}')  # fmt: skip
    with pytest.raises(StateError, match="at least 32 bytes"):
        Seal(b"short")
