"""Real PostgreSQL, Redis and RabbitMQ for the tests, each started on 127.0.0.1 and an ephemeral
port in a temporary directory, and stopped by its pid (process group) at the end of the session.

``scripts/services`` installs the Debian packages when missing; a missing binary here is a
failure, not a skip.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from golive.proxy.ports import free_port


def _binary(name: str, *patterns: str) -> str:
    found = shutil.which(name) or next(
        (p for pat in patterns for p in sorted(glob.glob(pat), reverse=True)), None
    )
    if found is None:
        raise RuntimeError(f"{name} is not installed; run scripts/services")
    return found


def _wait_port(port: int, proc: subprocess.Popen[bytes], log: Path, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode}: {log.read_text()[-800:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.1)
    raise RuntimeError(f"did not listen on 127.0.0.1:{port} within {limit:g}s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


@contextlib.contextmanager
def _running(
    argv: list[str],
    port: int,
    log: Path,
    user: str | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[None]:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, user=user, env=env,
        )  # fmt: skip
    try:
        _wait_port(port, proc, log)
        yield
    finally:
        _stop(proc)


def _postgres_bin() -> tuple[Path, str | None]:
    """Where PostgreSQL's programs are, and the user to run them as: PostgreSQL refuses to run
    as root, so as root it runs as ``postgres``."""
    bindir = Path(_binary("postgres", "/usr/lib/postgresql/*/bin/postgres")).resolve().parent
    return bindir, "postgres" if os.geteuid() == 0 else None


def _owned(user: str | None, *dirs: Path) -> None:
    for d in dirs:
        d.mkdir(parents=True, exist_ok=True)
        if user:
            shutil.chown(d, user)


@contextlib.contextmanager
def _postgres_server(data: Path, sock: Path, log: Path, *settings: str) -> Iterator[str]:
    bindir, user = _postgres_bin()
    port = free_port()
    argv = [str(bindir / "postgres"), "-D", str(data), "-p", str(port), "-k", str(sock),
            "-c", "listen_addresses=127.0.0.1"]  # fmt: skip
    for setting in settings:
        argv += ["-c", setting]
    with _running(argv, port, log, user=user):
        yield f"postgresql://golive@127.0.0.1:{port}/postgres"


@contextlib.contextmanager
def postgres(root: Path) -> Iterator[str]:
    """A PostgreSQL cluster with trust auth; yields its DSN (user ``golive``, database
    ``postgres``)."""
    bindir, user = _postgres_bin()
    data, sock = root / "pgdata", root / "pgsock"
    _owned(user, root, sock)
    subprocess.run(
        [str(bindir / "initdb"), "-D", str(data), "-U", "golive", "--auth=trust", "-E", "UTF8"],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, user=user,
    )  # fmt: skip
    with _postgres_server(data, sock, root / "postgres.log", "fsync=off") as dsn:
        yield dsn


@contextlib.contextmanager
def postgres_replica(root: Path, primary_port: int) -> Iterator[str]:
    """A streaming replica of the primary on ``primary_port`` (pg_basebackup -R); yields its
    DSN."""
    bindir, user = _postgres_bin()
    data, sock = root / "replica", root / "replica-sock"
    _owned(user, sock)
    subprocess.run(
        [str(bindir / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary_port), "-U",
         "golive", "-D", str(data), "-R", "-X", "stream"],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, user=user,
    )  # fmt: skip
    with _postgres_server(data, sock, root / "replica.log", "hot_standby=on") as dsn:
        yield dsn


@contextlib.contextmanager
def redis(root: Path) -> Iterator[str]:
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    argv = [_binary("redis-server"), "--port", str(port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", str(root)]  # fmt: skip
    with _running(argv, port, root / "redis.log"):
        yield f"redis://127.0.0.1:{port}/0"


@contextlib.contextmanager
def rabbitmq(root: Path) -> Iterator[str]:
    """RabbitMQ with its own epmd (both on loopback, both stopped by pid); yields an AMQP URL
    with the default guest account, which RabbitMQ allows from loopback only."""
    server = _binary("rabbitmq-server", "/usr/lib/rabbitmq/bin/rabbitmq-server")
    if server.startswith("/usr/sbin"):  # Debian's wrapper switches to the rabbitmq user
        server = "/usr/lib/rabbitmq/bin/rabbitmq-server"
    root.mkdir(parents=True, exist_ok=True)
    (root / "plugins").write_text("[].\n")
    epmd_port, port, dist = free_port(), free_port(), free_port()
    env = {
        **os.environ, "HOME": str(root), "ERL_EPMD_PORT": str(epmd_port),
        "RABBITMQ_NODE_PORT": str(port), "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODENAME": f"golive{port}@localhost", "RABBITMQ_DIST_PORT": str(dist),
        "RABBITMQ_MNESIA_BASE": str(root / "mnesia"), "RABBITMQ_LOG_BASE": str(root / "log"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(root / "plugins"),
        "RABBITMQ_CONFIG_FILE": str(root / "none"),
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
    }  # fmt: skip
    epmd = [_binary("epmd"), "-address", "127.0.0.1", "-port", str(epmd_port)]
    with (
        _running(epmd, epmd_port, root / "epmd.log"),
        _running([server], port, root / "rabbitmq.log", env=env),
    ):
        yield f"amqp://guest:guest@127.0.0.1:{port}/"
