"""The sample service: answers ``GET /`` with its version; errors and latency set by flags.

``python -m golive.demo.app --port 9002 --version 2.1.0 --error-rate 0.2 --latency-ms 250``.
Latency is lognormal around ``--latency-ms`` so the judge sees a realistic distribution.
Binds 127.0.0.1 only. Stdlib only, so it starts in a few tens of milliseconds.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import subprocess
import sys
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from golive.proxy.ports import free_port


def make_handler(
    version: str, error_rate: float, latency_ms: float
) -> type[BaseHTTPRequestHandler]:
    rng = random.Random()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        wbufsize = 64 * 1024  # one send per response (with Nagle, header + body cost 40 ms)
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            if self.path == "/health":
                self._send(200, {"status": "ok", "version": version})
                return
            time.sleep(latency_ms * rng.lognormvariate(0.0, 0.35) / 1000.0)
            if rng.random() < error_rate:
                self._send(500, {"error": "injected failure", "version": version})
            else:
                self._send(200, {"hello": "world", "version": version})

        def _send(self, status: int, body: dict[str, str]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.send_header("x-version", version)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def start_sample_app(
    version: str, error_rate: float = 0.0, latency_ms: float = 20.0
) -> tuple[subprocess.Popen[bytes], int]:
    """Start the sample app on a free loopback port in its own session; wait until healthy."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "golive.demo.app",
            "--port",
            str(port),
            "--version",
            version,
            "--error-rate",
            str(error_rate),
            "--latency-ms",
            str(latency_ms),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=0.5) as resp:
                if resp.status == 200:
                    return proc, port
        except OSError:
            time.sleep(0.02)
    proc.kill()
    proc.wait()
    raise RuntimeError(f"the sample app {version} did not start on 127.0.0.1:{port}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="golive-sample-app")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--version", required=True)
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    args = parser.parse_args(argv)
    server = ThreadingHTTPServer(
        ("127.0.0.1", args.port), make_handler(args.version, args.error_rate, args.latency_ms)
    )
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
