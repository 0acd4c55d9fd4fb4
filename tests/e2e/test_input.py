"""Every input refused cleanly, with where and why (issue #12.2, #12.3): exit 2 for a plan,
never a traceback, never a hang, never the whole of an endless file in memory."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.e2e.test_cli import GOLIVE, golive

pytestmark = pytest.mark.e2e


def check(path: str, cwd: Path) -> str:
    result = golive("plan", "check", path, cwd=cwd, timeout=20)
    out = result.stdout + result.stderr
    assert result.returncode == 2, out
    assert "internal error" not in out and "Traceback" not in out
    return " ".join(result.stderr.split())


def test_bad_bytes_and_control_characters_name_their_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "latin1.yaml").write_bytes(b"service: shop\nrevisions: caf\xe9\n")
    assert "latin1.yaml:2:15: not UTF-8 text: byte 0xe9" in check("latin1.yaml", tmp_path)
    (tmp_path / "ctl.yaml").write_bytes(b"service: shop\nsteps: a\x01b\n")
    assert "ctl.yaml:2:9: invalid YAML: U+0001 is a control character" in check(
        "ctl.yaml", tmp_path
    )


def test_deep_nesting_endless_files_and_pipes_are_refused(tmp_path: Path) -> None:
    (tmp_path / "deep.yaml").write_text("[" * 500)
    assert "nested too deeply" in check("deep.yaml", tmp_path)
    (tmp_path / "big.yaml").write_bytes(b"#" * 5_000_000)
    assert "file is larger than 1000000 bytes" in check("big.yaml", tmp_path)
    assert "not a regular file" in check("/dev/zero", tmp_path)
    os.mkfifo(tmp_path / "fifo")
    assert "not a regular file" in check("fifo", tmp_path)


def test_an_identity_file_that_cannot_be_read_is_an_error_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "id.yaml").write_bytes(b"user: \xff\n")
    (tmp_path / "deep.yaml").write_text("[" * 500)
    assert golive("token", "init", "admin", cwd=tmp_path).returncode == 0  # a state to ask
    for name, said in (("id.yaml", "id.yaml:1:7: not UTF-8 text"), ("deep.yaml", "too deeply")):
        env = {"GOLIVE_IDENTITY": str(tmp_path / name)}
        result = golive("approve", "shop-1", "--as", "tech-lead", cwd=tmp_path, env=env)
        assert result.returncode == 1 and said in result.stderr, result.stderr
        assert "internal error" not in result.stderr


def test_a_plan_from_a_closed_standard_input_is_an_error_not_a_crash(tmp_path: Path) -> None:
    # 'golive plan check - <&-' once ended in "internal error: AttributeError: 'NoneType'
    # object has no attribute 'buffer'"
    for verb in ("plan check", "run"):
        done = subprocess.run(
            ["sh", "-c", f'exec "$0" {verb} - <&-', GOLIVE],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        said = done.stdout + done.stderr
        assert done.returncode == 2, said
        assert "<stdin>: no standard input to read the plan from (it is closed)" in said, said
        assert "internal error" not in said and "Traceback" not in said
