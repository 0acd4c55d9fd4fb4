"""The server is an edge: it imports the operations, the engine and the store; nothing below
it imports the server (only ``golive serve`` itself, in cli/serve.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import golive

SRC = Path(golive.__file__).parent


def test_nothing_below_the_server_imports_it() -> None:
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel.startswith("server/") or rel in ("cli/serve.py", "cli/dashboard.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text(), rel)):
            names = (
                [node.module or ""] if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names] if isinstance(node, ast.Import) else []
            )  # fmt: skip
            offenders += [f"{rel}: {n}" for n in names if n.startswith("golive.server")]
    assert offenders == []


def test_the_cli_loads_the_server_only_for_golive_serve() -> None:
    import subprocess
    import sys

    code = "import sys, golive.cli.main; print([m for m in sys.modules if 'starlette' in m or 'uvicorn' in m])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
