"""The plan every end-to-end test starts from: service ``shop``, a stable sample app already
running, a canary golive starts itself (``golive.demo.app``), Envoy on ``listen``, metrics
every 500 ms, a drain of 1 s. Each test adds its own sections and steps."""

from __future__ import annotations

import sys


def shop_plan(stable_port: int, canary_port: int, listen: int | str, drain: str = "10s") -> str:
    return f"""\
service: shop
revisions:
  stable: {{version: 1.0.0, url: "http://127.0.0.1:{stable_port}"}}
  canary:
    version: 2.0.0
    url: "http://127.0.0.1:{canary_port}"
    process:
      command: ["{sys.executable}", -m, golive.demo.app, --port, "{canary_port}", --version, 2.0.0]
      ready: "http://127.0.0.1:{canary_port}/health"
route: {{router: envoy, listen: "127.0.0.1:{listen}"}}
metrics: {{interval: 500ms}}
drain: {{grace: 1s, timeout: {drain}}}
"""
