"""What a server answers a check is bounded and shown as text (issue #12.1, #12.3): a megabyte
JSON value, an endless body or JSON nested too deeply gives a short reason, never a
megabyte scorecard or journal entry, a check that reads until its timeout, or Python's words."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.e2e.test_cli import golive

pytestmark = pytest.mark.e2e

HOSTILE = "\x1b]52;c;aGk=\x07\x1b[2J[bold]X[/bold]\u202e"


class Answers(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/endless":
            self.send_response(200)
            self.end_headers()
            chunk = b"y" * 65_536
            try:
                while True:
                    self.wfile.write(chunk)
            except OSError:
                return
        bodies = {
            "/big": json.dumps({"status": HOSTILE + "A" * 1_000_000}).encode(),
            "/deep": b"[" * 100_000 + b"]" * 100_000,
        }
        body = bodies.get(self.path, b"{}")
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[int]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def plan(port: int) -> str:
    base = f"http://127.0.0.1:{port}"
    return (
        "service: shop\n"
        "revisions:\n"
        '  stable: {version: "1.0.0", url: "http://127.0.0.1:9001"}\n'
        '  canary: {version: "2.0.0", url: "http://127.0.0.1:9002"}\n'
        'route: {router: envoy, listen: "127.0.0.1:18080"}\n'
        "preflight:\n"
        f'  - {{name: big, http: {{url: "{base}/big", json: {{status: ok}}}}, retries: 0}}\n'
        f'  - {{name: endless, http: {{url: "{base}/endless", body_contains: "z"}},'
        " timeout: 5s, retries: 0}\n"
        f'  - {{name: deep, http: {{url: "{base}/deep", json: {{a: 1}}}}, retries: 0}}\n'
        "steps:\n  - check: preflight\n  - promote\n"
    )


def test_what_a_server_answers_a_check_is_bounded_and_said_in_words(
    tmp_path: Path, server: int
) -> None:
    (tmp_path / "plan.yaml").write_text(plan(server))
    result = golive("check", "--json", "plan.yaml", cwd=tmp_path, timeout=60)
    assert result.returncode == 4, result.stderr
    assert len(result.stdout) < 10_000, "a megabyte answer went into the scorecard"
    reasons = {item["name"]: item["reason"] for item in json.loads(result.stdout)["items"]}
    assert all(len(reason) <= 500 for reason in reasons.values()), reasons
    assert reasons["big"].startswith(f"GET http://127.0.0.1:{server}/big: status is '")
    assert "more characters)" in reasons["big"]
    assert reasons["endless"].endswith("the body does not contain 'z'"), reasons["endless"]
    assert reasons["deep"].endswith("the body is JSON nested too deeply to read")

    shown = golive("check", "plan.yaml", cwd=tmp_path, timeout=60)
    assert shown.returncode == 4 and "\x1b" not in shown.stdout + shown.stderr
    assert "\\x1b]52;c;aGk=\\x07\\x1b[2J[bold]X[/bold]" in shown.stdout
