"""Private files: 0700 directories and 0600 files whatever the umask, sockets with short paths."""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from golive.errors import StateError
from golive.files import (
    append_private,
    make_private,
    private_dir,
    socket_dir,
    socket_path,
    write_private,
)
from golive.store.sqlite import SQLiteStore
from tests.unit.store.test_sqlite import make


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture(autouse=True)
def umask_022() -> Iterator[None]:
    """A user's usual umask, which would make new files 0644 and directories 0755."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_a_new_state_directory_and_its_missing_parents_are_0700(tmp_path: Path) -> None:
    state = private_dir(tmp_path / "a" / "b" / ".golive")
    assert [mode(p) for p in (state, state.parent, state.parent.parent)] == [0o700] * 3
    assert mode(tmp_path) == 0o700  # an existing parent is left as it was (pytest's own)


def test_an_existing_state_directory_with_looser_bits_is_tightened(tmp_path: Path) -> None:
    state = tmp_path / ".golive"
    state.mkdir(mode=0o755)
    state.chmod(0o755)
    private_dir(state)
    assert mode(state) == 0o700


def test_a_shared_directory_is_refused_not_tightened(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    with pytest.raises(StateError, match=r"shared directory .*--state-dir"):
        private_dir(shared)
    assert mode(shared) == 0o1777


def test_files_are_written_0600_and_an_old_0644_file_is_tightened(tmp_path: Path) -> None:
    old = tmp_path / "envoy.pid"
    old.write_text("1")
    assert mode(old) == 0o644
    write_private(old, "42")
    assert (old.read_text(), mode(old)) == ("42", 0o600)
    log = tmp_path / "canary.log"
    with append_private(log) as f:
        f.write(b"one\n")
    with append_private(log) as f:
        f.write(b"two\n")
    assert (log.read_text(), mode(log)) == ("one\ntwo\n", 0o600)
    make_private(tmp_path / "absent")  # nothing to tighten is fine


async def test_the_database_and_its_wal_and_shm_are_0600(tmp_path: Path) -> None:
    store, _ = await make(tmp_path)  # a rollout written: the -wal and -shm exist
    try:
        files = sorted(p.name for p in tmp_path.iterdir() if p.is_file())
        assert files == ["g.db", "g.db-shm", "g.db-wal", "g.db.lock"]
        assert {p: mode(tmp_path / p) for p in files} == dict.fromkeys(files, 0o600)
        for sub in ("heads", "keys"):  # the journal's heads and its key: private as well
            assert mode(tmp_path / sub) == 0o700
            assert all(mode(f) == 0o600 for f in (tmp_path / sub).iterdir())
    finally:
        store.close()


def test_an_old_world_readable_database_is_tightened_when_opened(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "g.db")
    store.close()
    for name in ("g.db", "g.db-wal"):
        (tmp_path / name).touch()
        (tmp_path / name).chmod(0o644)
    tmp_path.chmod(0o755)
    SQLiteStore(tmp_path / "g.db").close()
    assert mode(tmp_path) == 0o700
    assert mode(tmp_path / "g.db") == 0o600
    assert not (tmp_path / "g.db-wal").exists() or mode(tmp_path / "g.db-wal") == 0o600


def test_a_socket_path_too_long_for_unix_goes_to_a_private_temp_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "t"))
    (tmp_path / "t").mkdir()
    short = tmp_path / "s"
    assert socket_path(short, "admin.sock") == short / "admin.sock"
    deep = tmp_path / ("x" * 120) / "envoy" / "shop"
    path = socket_path(deep, "admin.sock")
    assert path.parent == tmp_path / "t" / f"golive-{os.geteuid()}"
    assert len(path.name) == len("0123456789abcdef-admin.sock")
    assert socket_path(deep, "admin.sock") == path  # the same for every run: found again
    assert socket_path(deep.parent / "cart", "admin.sock") != path
    socket_dir(path)
    assert mode(path.parent) == 0o700


def test_a_socket_directory_someone_else_made_first_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if os.geteuid() != 0:
        pytest.skip("giving a directory to another user needs root")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    path = socket_path(tmp_path / ("x" * 120), "admin.sock")
    path.parent.mkdir(mode=0o777)
    os.chown(path.parent, 65534, 65534)
    with pytest.raises(StateError, match="not a directory of this user's"):
        socket_dir(path)
