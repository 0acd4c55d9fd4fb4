"""``golive serve``: the controller and the API server in one process (uvicorn on one socket).

It listens on 127.0.0.1:8470 unless ``--listen`` says otherwise, and refuses an address other
hosts can reach while no API token exists (every route but the status page needs one, and a
server nobody can use yet should not be on the network). The socket is bound here, before
anything starts, so a port already taken is one clear line and exit 2.

SIGTERM or SIGINT: stop accepting, end the event streams, cancel each rollout's task (its
Runner releases the lease; the record and the traffic stay as they are), exit 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import logging
import signal
import socket
import ssl
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import uvicorn
from starlette.applications import Starlette

from golive.cli.session import open_store
from golive.cli.terminal import Terminal
from golive.errors import GoliveError, StateError
from golive.notify import webhook
from golive.notify.worker import sending
from golive.plan.values import SecretRef
from golive.secrets import reveal
from golive.server.app import Context, build_app
from golive.server.connections import HeadTimeout
from golive.server.controller import Controller
from golive.server.hosts import answered_hosts
from golive.server.webhooks import SeenFile
from golive.store.base import Store

DEFAULT_LISTEN = "127.0.0.1:8470"
console = Terminal(stderr=True)


class Usage(GoliveError):
    """A bad --listen, a refused address or a taken port: exit 2, as a usage error."""


def listen_address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise Usage(f"--listen {text}: expected HOST:PORT, e.g. {DEFAULT_LISTEN}")
    return host, int(port)


def loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name other hosts may resolve to anything


async def _refuse_open_bind(store: Store, host: str) -> None:
    if loopback(host):
        return
    now = time.time()
    if not any(t.valid(now) for t in await store.tokens()):
        raise Usage(
            f"refusing to listen on {host}, which other hosts can reach, while no API token "
            "exists: create one first ('golive token init NAME'), or listen on 127.0.0.1"
        )


def webhook_key(ref: str | None) -> bytes | None:
    """The key of ``--webhook-secret`` (a reference, resolved now, never printed)."""
    if ref is None:
        return None
    try:
        return webhook.secret_key(reveal(SecretRef.parse(ref)))
    except (ValueError, LookupError) as exc:
        raise Usage(f"--webhook-secret {ref}: {exc}") from None


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # not REUSEPORT: exclusive
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise Usage(f"cannot listen on {host}:{port}: {exc.strerror}; choose --listen") from None
    sock.setblocking(False)
    return sock


def _tls(args: argparse.Namespace) -> tuple[str, str] | None:
    """uvicorn's TLS settings, after checking the two files can be read (one clear line)."""
    cert, key = getattr(args, "tls_cert", None), getattr(args, "tls_key", None)
    if not cert and not key:
        return None
    if not cert or not key:
        raise Usage("--tls-cert and --tls-key go together")
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise Usage(f"cannot use --tls-cert {cert} --tls-key {key}: {exc}") from None
    return cert, key


class Server(uvicorn.Server):
    """uvicorn, told to stop by SIGTERM or SIGINT without re-raising the signal at the end (the
    process exits 0 once every rollout's task has let go of its lease)."""

    def __init__(self, config: uvicorn.Config, ctx: Context) -> None:
        super().__init__(config)
        self.ctx = ctx

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop_now)
        try:
            yield
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)

    def stop_now(self) -> None:
        if self.should_exit:  # a second signal: stop waiting for open connections
            self.force_exit = True
        self.ctx.stopping = True  # event streams end, so their connections close
        self.should_exit = True


async def cmd_serve(args: argparse.Namespace) -> int:
    try:
        return await _serve(args)
    except Usage as exc:
        console.print(f"error: {exc}", markup=False)
        return 2


async def _serve(args: argparse.Namespace) -> int:
    host, port = listen_address(args.listen)
    state_dir = Path(args.state_dir)
    store = open_store(state_dir)
    await _refuse_open_bind(store, host)
    sock = bind(host, port)
    tls = _tls(args)
    key = webhook_key(getattr(args, "webhook_secret", None))
    controller = Controller(store, state_dir)
    hosts = answered_hosts(loopback(host), args.allow_host)
    ctx = Context(store, state_dir, wake=controller.wake, hosts=hosts, webhook_key=key)
    if key is not None:  # accepted ids outlive a restart: a replay is refused after one too
        ctx.webhook_ids = SeenFile(state_dir / "webhook-ids")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        loop_task = asyncio.create_task(controller.run(), name="controller")
        try:
            async with sending(store):  # one outbox worker for the process, beside the loop
                yield
        finally:
            loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loop_task
            await controller.stop()
            logging.getLogger("golive.server").info("stopped; every rollout keeps its state")

    app = build_app(ctx, lifespan)
    config = uvicorn.Config(
        app, http=HeadTimeout, log_level="info", timeout_graceful_shutdown=5, server_header=False,
        proxy_headers=False, lifespan="on",
        ssl_certfile=tls[0] if tls else None, ssl_keyfile=tls[1] if tls else None,
    )  # fmt: skip
    scheme, where = (
        "https" if tls else "http",
        f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
    )
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("golive.server").setLevel(logging.INFO)
    console.print(
        f"golive serve: {scheme}://{where}/api/v1, dashboard {scheme}://{where}/ui/ "
        f"(state {state_dir})",
        markup=False,
    )
    server = Server(config, ctx)
    try:
        await server.serve(sockets=[sock])
    finally:
        sock.close()
    if not server.started:
        raise StateError("the server did not start (see the log above)")
    return 0
