"""A real webhook receiver on 127.0.0.1 for the notification tests and benchmark: it checks
each request's Standard Webhooks signature (when given the secret), keeps what it received,
and can be slow, or fail the first N requests of each id, or fail them all."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from golive.notify import webhook


@dataclass
class Received:
    id: str
    headers: dict[str, str]
    body: bytes
    valid: bool  # the signature held (always False without a secret)
    path: str

    @property
    def json(self) -> dict[str, object]:
        data = json.loads(self.body)
        assert isinstance(data, dict)
        return data


@dataclass
class Receiver:
    port: int
    secret: str | None
    delay: float = 0.0  # seconds before each answer
    fail_first: int = 0  # answer 500 to the first N requests of each id
    status: int = 200  # the answer once past fail_first
    got: list[Received] = field(default_factory=list)
    busy: int = 0  # requests being answered right now
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def ids(self) -> list[str]:
        with self.lock:
            return [r.id for r in self.got]

    def all(self) -> list[Received]:
        with self.lock:
            return list(self.got)

    def wait(self, count: int, within: float = 20.0) -> list[Received]:
        """Block until ``count`` requests arrived (bounded), then what arrived."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline and len(self.ids()) < count:
            time.sleep(0.02)
        return self.all()


def _handler(rx: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(min(length, 50_000_000))
            headers = {k.lower(): v for k, v in self.headers.items()}
            valid = False
            if rx.secret is not None:
                try:
                    webhook.verify(webhook.secret_key(rx.secret), headers, body, time.time())
                    valid = True
                except webhook.BadSignature:
                    valid = False
            msg_id = headers.get("webhook-id", "")
            with rx.lock:
                seen = sum(1 for r in rx.got if r.id == msg_id and msg_id)
                rx.got.append(Received(msg_id, headers, body, valid, self.path))
                rx.busy += 1
            if rx.delay:
                time.sleep(rx.delay)
            with rx.lock:
                rx.busy -= 1
            status = 500 if seen < rx.fail_first else rx.status
            try:
                self.send_response(status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except (BrokenPipeError, ConnectionResetError):  # the sender timed out first
                pass

    return Handler


@contextmanager
def receiver(secret: str | None = None, **options: object) -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(Receiver(0, secret)))
    server.daemon_threads = True
    rx = Receiver(server.server_address[1], secret, **options)  # type: ignore[arg-type]
    server.RequestHandlerClass = _handler(rx)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield rx
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
