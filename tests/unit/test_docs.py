"""The docs' commands are commands golive accepts (issue #12.17): every `golive ...` line in a
fenced shell block of the README and docs/ parses with golive's own argument parser, with its
placeholders (ID, ROLE, [optional] parts, a|b alternatives) filled in. The tutorial's plans and
the runbook template are checked by tests/e2e (they run)."""

from __future__ import annotations

import itertools
import re
import shlex
from pathlib import Path

import pytest

from golive.cli.main import _parser

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FILL = {"ID": "shop-2026", "ROLLOUT": "shop-2026", "ITEM": "rollback-plan", "ROLE": "tech-lead",
        "NAME": "admin", "SERVICE": "shop", "TEXT": "why", "checkout-2026...": "checkout-2026"}  # fmt: skip


def commands() -> list[tuple[str, int, str]]:
    found = []
    for doc in DOCS:
        fenced = False
        for n, line in enumerate(doc.read_text().splitlines(), 1):
            if line.startswith("```"):
                fenced = line.strip() in ("```bash", "```sh", "```console")
                continue
            text = line.split("  #")[0].strip()
            if fenced and re.match(r"^(\./scripts/)?golive\b", text):
                found.append((doc.relative_to(ROOT).as_posix(), n, text))
    return found


def variants(text: str) -> list[list[str]]:
    """Each command a line stands for: 'a | b' and 'a|b|c' alternatives, [optional] parts."""
    text = text.replace("./scripts/golive", "golive")
    lines = [text] if " | " not in text else [
        part if part.startswith("golive") else f"golive {part}" for part in text.split(" | ")
    ]  # fmt: skip
    out = []
    for line in lines:
        line = re.sub(r"\[(--?[a-z-]+ [^\]]*|[A-Z]+)\]", r"\1", line)  # keep optional parts
        words = [FILL.get(w, w) for w in shlex.split(line)[1:]]
        choices = [w.split("|") if "|" in w and not w.startswith("-") else [w] for w in words]
        out += [list(c) for c in itertools.product(*choices)]
    return out


@pytest.mark.parametrize(("doc", "line", "text"), commands(), ids=lambda v: str(v)[:40])
def test_every_documented_command_parses(doc: str, line: int, text: str) -> None:
    for argv in variants(text):
        try:
            _parser().parse_args(argv)
        except SystemExit as exc:
            if exc.code == 0:  # --version, --help
                continue
            pytest.fail(f"{doc}:{line}: golive {' '.join(argv)} is refused ({exc})")


def test_the_docs_have_commands_to_check() -> None:
    assert len(commands()) >= 20
