"""``golive demo --serve``: the dashboard served beside the demo, in the same process.

The server listens on 127.0.0.1 on a free port and shares the demo's store; the demo itself
drives the rollout (it holds the lease), so no controller runs here: a sign-off or a pause
pressed on the page is recorded through the API and picked up by the demo's loop. A token for
a ``demo-approver`` holding the release-manager role is minted in the demo's own state
directory (valid for 8 hours) and printed, with the URL; no other secret is ever printed.
Once the rollout has ended the page stays up until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import uvicorn

from golive.cli.serve import bind
from golive.cli.terminal import Terminal
from golive.identity import Identity
from golive.operations import tokens
from golive.server.app import Context, build_app
from golive.server.connections import HeadTimeout
from golive.server.hosts import answered_hosts
from golive.store.base import Store

APPROVER = "demo-approver"
STARTER = "golive-demo"
TOKEN_HOURS = 8


class _Server(uvicorn.Server):
    """uvicorn leaving the signals to the demo."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Dashboard:
    def __init__(self, server: _Server, task: asyncio.Task[None], ctx: Context, url: str,
                 token: str, mode: str) -> None:  # fmt: skip
        self.server, self.task, self.ctx, self.url, self.token = server, task, ctx, url, token
        self.mode = mode

    @staticmethod
    async def start(store: Store, workdir: Path, mode: str) -> Dashboard:
        sock = bind("127.0.0.1", 0)
        port = sock.getsockname()[1]
        ctx = Context(store, workdir, hosts=answered_hosts(loopback=True, allowed=[]))
        config = uvicorn.Config(
            build_app(ctx), http=HeadTimeout, log_level="warning", lifespan="off",
            server_header=False, proxy_headers=False, timeout_graceful_shutdown=2,
        )  # fmt: skip
        server = _Server(config)
        task = asyncio.create_task(server.serve(sockets=[sock]), name="dashboard")
        for _ in range(200):
            if server.started or task.done():
                break
            await asyncio.sleep(0.025)
        if task.done():
            await task  # raises what stopped it
        now = time.time()
        demo = Identity("golive demo", (), "token", admin=True)  # mints in the demo's store only
        expires = now + TOKEN_HOURS * 3600
        token = await tokens.add(store, demo, APPROVER, ("release-manager",), False, expires, now)
        # the gate needs a starter proven by a token, other than the approver; never printed
        await tokens.add(store, demo, STARTER, ("operator",), False, expires, now)
        return Dashboard(server, task, ctx, f"http://127.0.0.1:{port}/ui/", token, mode)

    @property
    def starter(self) -> Identity:
        """Who starts the demo's rollout: the demo's own operator token."""
        return Identity(STARTER, ("operator",), "token")

    def cancel_on_sigterm(self) -> None:
        """SIGTERM while the demo runs: cancel it as Ctrl-C does, so its processes stop."""
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)

    def announce(self, rollout_id: str) -> None:
        page = f"{self.url}rollouts/{rollout_id}"
        if self.mode == "json":
            said = {"dashboard": self.url, "rollout_page": page, "login_token": self.token,
                    "user": APPROVER}  # fmt: skip
            print(json.dumps(said), flush=True)
            return
        out = Terminal()
        out.print(f"dashboard: {self.url}  (this rollout: {page})", markup=False)
        out.print(
            f"log in with this token ({APPROVER}, role release-manager, valid "
            f"{TOKEN_HOURS} h, this demo's state only): {self.token}",
            markup=False,
        )
        out.print("the rollout waits at 5% for a release manager's sign-off", markup=False)

    async def linger(self) -> None:
        """Keep the page up after the rollout until Ctrl-C or SIGTERM, then stop."""
        if self.mode != "json":
            Terminal().print(f"the dashboard stays at {self.url} until Ctrl-C", markup=False)
        done = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
            loop.add_signal_handler(sig, done.set)
        try:
            await asyncio.wait(
                [asyncio.ensure_future(done.wait()), self.task],
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
            await self.stop()

    async def stop(self) -> None:
        self.ctx.stopping = True
        self.server.should_exit = True
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(self.task, 10)
