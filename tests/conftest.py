from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

GOOD_PLAN = """\
service: checkout
revisions:
  stable: {version: 2.0.5, url: "http://127.0.0.1:9001"}
  canary:
    version: 2.1.0
    url: "http://127.0.0.1:9002"
    process: {command: [./app, --port, "9002"], ready: "http://127.0.0.1:9002/health"}
route: {router: envoy, listen: "127.0.0.1:8080"}
metrics: {source: router, interval: 1s}
checks:
  smoke: {http: {url: "http://127.0.0.1:9002/health"}}
triggers:
  - {when: "error_rate > 5%", for: 10s, then: rollback}
judge: {kind: threshold, max_latency: 500ms, min_requests: 20, window: 10s}
steps:
  - deploy: canary
  - check: smoke
  - shift: {weight: 1, segment: {header: x-beta-user}}
  - analyze: 15s
  - shift: 50
  - analyze: {for: 30s}
  - promote
"""


@pytest.fixture
def write_plan(tmp_path: Path):  # type: ignore[no-untyped-def]
    def write(text: str, name: str = "plan.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write
