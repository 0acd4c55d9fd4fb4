"""The check catalogue against real things: PostgreSQL, Redis, RabbitMQ, a TLS server with a
fresh short-lived certificate, a throwaway git repository, a seeded secret, the sample app."""

from __future__ import annotations

import asyncio
import datetime
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiormq
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from golive.checks.base import Outcome, Probe
from golive.checks.catalogue import run_check
from golive.plan import checks as c
from golive.plan.values import SecretRef
from tests.conftest import free_port, start_app

pytestmark = pytest.mark.integration


async def check(options: c.Options, timeout: float = 5.0, retries: int = 0) -> Probe:
    kind = next(k for k, cls in c.KINDS.items() if isinstance(options, cls))
    probe, _ = await run_check(c.Check("t", kind, options, timeout=timeout, retries=retries))
    return probe


# -- PostgreSQL, Redis, RabbitMQ ---------------------------------------------------------------


async def test_postgres_query_expectation_and_replication_lag(
    postgres_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DB_URL", postgres_dsn.replace("golive@", "golive:s3cret-pw@"))
    dsn = SecretRef("env", "DB_URL")
    ok = await check(c.Postgres(dsn, "SELECT count(*) FROM pg_database", expect=">= 1"))
    assert ok.outcome is Outcome.PASS, ok
    wrong = await check(c.Postgres(dsn, "SELECT 41", expect=42))
    assert (wrong.outcome, wrong.reason) == (Outcome.FAIL, "the query returned '41', expected 42")
    lag = await check(c.Postgres(dsn, max_replication_lag=5.0))
    assert lag.reason == "replication lag unknown: no replica is connected"
    monkeypatch.setenv(
        "DB_URL", postgres_dsn.replace("/postgres", "/nope").replace("golive@", "golive:s3cret-pw@")
    )
    missing = await check(c.Postgres(dsn))
    assert missing.outcome is Outcome.FAIL and 'database "nope" does not exist' in missing.reason
    assert "s3cret-pw" not in missing.reason and "env:DB_URL" in missing.reason


async def test_replication_lag_on_a_real_streaming_replica(postgres_dsn: str) -> None:
    import shutil
    import tempfile

    import psycopg

    from tests import services

    primary_port = int(postgres_dsn.rsplit(":", 1)[1].split("/")[0])
    root = Path(tempfile.mkdtemp(prefix="golive-replica-"))
    if os.geteuid() == 0:  # PostgreSQL runs as its own user
        shutil.chown(root, "postgres")
    try:
        with services.postgres_replica(root, primary_port) as replica:
            async with await psycopg.AsyncConnection.connect(postgres_dsn, autocommit=True) as db:
                await db.execute("CREATE TABLE IF NOT EXISTS orders (id int)")
                await db.execute("INSERT INTO orders VALUES (1)")
            for _ in range(100):  # until the replica has replayed it
                on_replica = await check(
                    c.Postgres(replica, "SELECT count(*) FROM orders", expect=1)
                )
                if on_replica.outcome is Outcome.PASS:
                    break
                await asyncio.sleep(0.1)
            assert on_replica.outcome is Outcome.PASS, on_replica
            lag = await check(c.Postgres(replica, max_replication_lag=5.0))
            assert lag.outcome is Outcome.PASS and lag.reason.endswith("on this replica"), lag
            primary = await check(c.Postgres(postgres_dsn, max_replication_lag=5.0))
            assert primary.reason.endswith("on the slowest of 1 replicas"), primary
    finally:
        shutil.rmtree(root, ignore_errors=True)


async def test_redis_ping_and_info_fields(redis_url: str) -> None:
    ok = await check(c.Redis(redis_url, {"role": "master", "connected_clients": ">= 1"}))
    assert ok.outcome is Outcome.PASS and "role=master" in ok.value
    bad = await check(c.Redis(redis_url, {"connected_clients": "> 1000"}))
    assert bad.outcome is Outcome.FAIL and "expected > 1000" in bad.reason
    down = await check(c.Redis(f"redis://127.0.0.1:{free_port()}/0"))
    assert down.outcome is Outcome.FAIL and "connection refused" in down.reason.lower()


async def test_amqp_connects_and_finds_a_queue(
    amqp_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMQP_URL", amqp_url)
    url = SecretRef("env", "AMQP_URL")
    connection = await aiormq.connect(amqp_url)
    channel = await connection.channel()
    await channel.queue_declare("orders", durable=False)
    await channel.basic_publish(b"one", routing_key="orders")
    await connection.close()
    assert (await check(c.Amqp(url))).outcome is Outcome.PASS
    found = await check(c.Amqp(url, queue="orders"))
    assert found.outcome is Outcome.PASS and found.value == "1 messages"
    missing = await check(c.Amqp(url, queue="payments"))
    assert (missing.outcome, missing.reason) == (Outcome.FAIL, "queue 'payments' does not exist")


# -- TLS -------------------------------------------------------------------------------------


def _certificates(root: Path, days: int) -> tuple[Path, Path, Path]:
    """A CA, and a server certificate for localhost valid ``days`` days, signed by it."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "golive test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    paths = root / "ca.pem", root / "cert.pem", root / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


@pytest.fixture
async def tls_server(tmp_path: Path) -> AsyncIterator[tuple[str, Path]]:
    """A TLS server on 127.0.0.1 with a 3-day certificate; yields host:port and the CA file."""
    ca, cert, key = _certificates(tmp_path, days=3)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    yield f"127.0.0.1:{port}", ca
    server.close()
    await server.wait_closed()


async def test_tls_days_left_chain_and_hostname(tls_server: tuple[str, Path]) -> None:
    host, ca = tls_server
    soon = await check(c.Tls(host, hostname="localhost", min_days=1, ca_file=str(ca)))
    assert soon.outcome is Outcome.WARN and soon.value == "3 days left"
    expiring = await check(c.Tls(host, hostname="localhost", min_days=7, ca_file=str(ca)))
    assert expiring.outcome is Outcome.FAIL and "expires in 3.0 days" in expiring.reason
    wrong_name = await check(c.Tls(host, hostname="api.example.test", ca_file=str(ca)))
    assert wrong_name.outcome is Outcome.FAIL and "Hostname mismatch" in wrong_name.reason
    untrusted = await check(c.Tls(host, hostname="localhost"))
    assert untrusted.outcome is Outcome.FAIL and "local issuer" in untrusted.reason


# -- git, secrets, files, docs ------------------------------------------------------------------


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        check=True, capture_output=True,
    )  # fmt: skip


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "README.md").write_text("# shop\n")
    (root / ".gitignore").write_text(".env\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "first")
    git(root, "tag", "v2.1.0")
    return root


async def test_git_clean_branch_and_tag(repo: Path) -> None:
    ok = await check(c.Git(str(repo), clean=True, branch="main", tag="v2.1.0"))
    assert (ok.outcome, ok.reason) == (Outcome.PASS, "on main, clean")
    assert (
        await check(c.Git(str(repo), branch="release"))
    ).reason == "on branch main, expected release"
    assert "not tagged v9" in (await check(c.Git(str(repo), tag="v9"))).reason
    (repo / "notes.txt").write_text("wip")
    dirty = await check(c.Git(str(repo)))
    assert dirty.outcome is Outcome.FAIL and "1 uncommitted changes (notes.txt" in dirty.reason


async def test_a_seeded_secret_is_found_and_an_ignored_env_file_is_not(repo: Path) -> None:
    (repo / ".env").write_text('API_TOKEN="hunter2-6f1c0ffee4d3a9b8"\n')  # ignored by git
    clean = await check(c.Secrets(str(repo)))
    assert clean.outcome is Outcome.PASS and "1 ignored by git" in clean.reason
    aws = "AKIA" + "IOSFODNN7EXAMPLE"
    (repo / "settings.py").write_text(f'DEBUG = False\naws_access_key_id = "{aws}"\n')
    found = await check(c.Secrets(str(repo)))
    assert found.outcome is Outcome.FAIL
    assert "settings.py:2 (AWS Access Key)" in found.reason and aws not in found.reason
    skipped = await check(c.Secrets(str(repo), exclude=("settings.py",)))
    assert skipped.outcome is Outcome.PASS


async def test_the_newest_backup_must_be_fresh(tmp_path: Path) -> None:
    old, new = tmp_path / "db-1.dump", tmp_path / "db-2.dump"
    old.write_text("x" * 100)
    new.write_text("x" * 100)
    two_days = time.time() - 2 * 86400
    os.utime(old, (two_days, two_days))
    fresh = await check(c.File(str(tmp_path / "*.dump"), max_age=3600.0, min_size=10))
    assert fresh.outcome is Outcome.PASS and "db-2.dump" in fresh.reason
    os.utime(new, (two_days, two_days))
    stale = await check(c.File(str(tmp_path / "*.dump"), max_age=86400.0))
    assert stale.outcome is Outcome.FAIL and "48h old (max 24h)" in stale.reason
    none = await check(c.File(str(tmp_path / "*.bak")))
    assert none.reason == f"no file matches {tmp_path / '*.bak'}"


async def test_docs_present(repo: Path) -> None:
    assert (await check(c.Docs(str(repo), ("README.md",)))).outcome is Outcome.PASS
    missing = await check(c.Docs(str(repo), ("README.md", "docs/runbook.md")))
    assert missing.reason == "missing or empty: docs/runbook.md"


# -- http, tcp, dns, command, host ---------------------------------------------------------------


@pytest.fixture
def app() -> Iterator[int]:
    proc, port = start_app("2.1.0", latency_ms=30)
    yield port
    proc.terminate()
    proc.wait(timeout=10)


async def test_http_json_headers_and_latency_budget(app: int) -> None:
    url = f"http://127.0.0.1:{app}/health"
    ok = await check(
        c.Http(url, json={"status": "ok", "$.version": "2.1.0"}, headers=("x-version",))
    )
    assert ok.outcome is Outcome.PASS, ok
    wrong = await check(c.Http(url, json={"status": "degraded"}))
    assert wrong.reason == f"GET {url}: status is 'ok', expected 'degraded'"
    bare = await check(c.Http(url, headers=("strict-transport-security", "x-version")))
    assert bare.reason == f"GET {url}: missing response headers: strict-transport-security"
    slow = await check(c.Http(url, max_latency=0.001))
    assert slow.outcome is Outcome.WARN and "over the 1ms budget" in slow.reason


async def test_a_host_that_never_answers_fails_within_its_timeout() -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts connections, never answers
    try:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/health"
        probe = await check(c.Http(url), timeout=0.5, retries=1)
    finally:
        silent.close()
    assert probe.reason == "no answer within 0.5s (after 2 attempts)"
    # ended by its own timeout, twice, not by the host: how long that takes is in benchmarks/
    refused = await check(c.Tcp("127.0.0.1", free_port()))
    assert refused.reason.endswith("connection refused")


async def test_dns_resolves_from_the_hosts_file() -> None:
    ok = await check(c.Dns("localhost", ("127.0.0.1",)))
    assert ok.outcome is Outcome.PASS
    other = await check(c.Dns("localhost", ("10.9.9.9",)))
    assert other.outcome is Outcome.FAIL and "not to 10.9.9.9" in other.reason


async def test_command_exit_status_output_and_bounds(tmp_path: Path) -> None:
    ok = await check(
        c.Command((sys.executable, "-c", "print('migrations: 0 pending')"), contains="0 pending")
    )
    assert ok.outcome is Outcome.PASS
    failed = await check(
        c.Command((sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"))
    )
    assert failed.reason.endswith("exited with 3, expected 0: boom")
    chatty = (sys.executable, "-c", "import sys; sys.stdout.write('x' * 5_000_000); print('end')")
    bounded = await check(c.Command(chatty, contains="end", max_output=1000), timeout=20)
    assert bounded.reason == f"{chatty[0]}: the output does not contain 'end'"  # cut at 1000 bytes
    missing = await check(c.Command(("no-such-tool-xyz",)))
    assert missing.reason == "no-such-tool-xyz: command not found"


async def test_host_thresholds() -> None:
    assert (await check(c.Disk("/", max_used=1.0, warn_used=None))).outcome is Outcome.PASS
    full = await check(c.Disk("/", max_used=0.0, warn_used=None))
    assert full.outcome is Outcome.FAIL and "over 0%" in full.reason
    assert (await check(c.Memory(max_used=1.0, warn_used=0.0))).outcome is Outcome.WARN
    assert (await check(c.Cpu(max_load=1000.0, warn_load=None))).outcome is Outcome.PASS


async def test_a_command_past_its_timeout_is_killed_with_its_children(tmp_path: Path) -> None:
    from golive.processes import pid_alive

    pid_file = tmp_path / "child.pid"
    spawn = (
        "import subprocess, sys; child = subprocess.Popen(['sleep', '30']);"
        "open(sys.argv[1], 'w').write(str(child.pid)); child.wait()"
    )
    probe = await check(c.Command((sys.executable, "-c", spawn, str(pid_file))), timeout=1.0)
    assert probe.reason == "no answer within 1s"
    child = int(pid_file.read_text())
    for _ in range(50):
        if not pid_alive(child):
            break
        await asyncio.sleep(0.05)
    assert not pid_alive(child)
