"""Overhead on a real application (``scripts/bench realapp``): httpbin on gunicorn (gthread,
2 workers x 4 threads), straight and through each router golive runs, all at once.

wrk (Debian's ``wrk``) drives ``GET /get`` on keep-alive connections: ``saturated`` with 16
connections (throughput and latency at the app's limit), ``sequential`` with one. Runs are
interleaved (direct, then each router, the order rotated every round) so a neighbour's burst on
the shared cores lands on all of them alike. Bounded: ``--rounds`` x targets x modes runs of
``--seconds`` each (default 3 x 4 x 2 x 4 s, about 100 s). Nothing is asserted.

Without wrk on ``PATH`` it says so and stops: a Python client would measure itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from benchmarks.harness import run
from golive.demo.app import start_sample_app
from golive.plan.model import Split
from golive.proxy.ports import free_port
from golive.traffic.envoy import EnvoyRouter
from golive.traffic.haproxy import HAProxyRouter
from golive.traffic.nginx import NginxRouter

ROUTERS = ("envoy", "haproxy", "nginx")
MODES = {"saturated": 16, "sequential": 1}
Router = EnvoyRouter | HAProxyRouter | NginxRouter


@contextlib.contextmanager
def gunicorn_httpbin() -> Iterator[int]:
    """httpbin on gunicorn, as issue 11 measured it; stopped by its pid."""
    port = free_port()
    binary = str(Path(sys.executable).parent / "gunicorn")
    proc = subprocess.Popen(
        [binary, "-w", "2", "--threads", "4", "-k", "gthread",
         "-b", f"127.0.0.1:{port}", "httpbin:app"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not _answers(f"http://127.0.0.1:{port}/get"):
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn + httpbin did not start")
            time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of ``pid`` and its children (nginx's workers), from /proc."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry) == pid or int(fields[1]) == pid:
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    return total / os.sysconf("SC_CLK_TCK")


@contextlib.asynccontextmanager
async def routers(
    app_port: int, tmp: Path, kinds: tuple[str, ...]
) -> AsyncIterator[dict[str, tuple[int, int | None]]]:
    """Each router golive runs, 100% to the app (the canary is an idle sample app)."""
    canary, canary_port = start_sample_app("canary", latency_ms=0)
    upstreams = {
        "stable": f"http://127.0.0.1:{app_port}",
        "canary": f"http://127.0.0.1:{canary_port}",
    }
    classes: dict[str, type[Router]] = {
        "envoy": EnvoyRouter, "haproxy": HAProxyRouter, "nginx": NginxRouter
    }  # fmt: skip
    started: list[Router] = []
    try:
        for kind in kinds:
            router = classes[kind](tmp / kind, "127.0.0.1", free_port(), upstreams)
            await router.start(Split.all_stable())
            started.append(router)
        yield {kind: (r.port, r._pid()) for kind, r in zip(kinds, started, strict=True)}
    finally:
        for router in started:
            await router.stop()
            await router.aclose()
        canary.terminate()
        canary.wait(10)


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


Figures = tuple[float, float, float, int, float]


def wrk(port: int, connections: int, seconds: float, pid: int | None = None) -> Figures:
    """requests/s, p50 ms, p99 ms, non-2xx + socket errors, and the CPU time the proxy (``pid``)
    spent per request in microseconds, from one wrk run."""
    cpu = cpu_seconds(pid) if pid else 0.0
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency",
         f"http://127.0.0.1:{port}/get"],
        capture_output=True, text=True, timeout=seconds + 30, check=True,
    ).stdout  # fmt: skip
    cpu = cpu_seconds(pid) - cpu if pid else 0.0
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    lat = {
        q: float(v) * _UNITS[u] for q, v, u in re.findall(r"\s(50|99)%\s+([\d.]+)(us|ms|s)\b", out)
    }
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sockets = re.search(r"Socket errors:(.*)", out)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (
        sum(int(n) for n in re.findall(r"\d+", sockets.group(1))) if sockets else 0
    )
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return rps, lat["50"], lat["99"], errors, cpu * 1e6 / max(total, 1)


async def main(rounds: int = 3, seconds: float = 4.0, kinds: tuple[str, ...] = ROUTERS) -> None:
    if shutil.which("wrk") is None:
        print("benchmark realapp: needs wrk (apt-get install wrk); skipped")
        return
    task = asyncio.current_task()
    if task is not None:  # SIGTERM (e.g. from `timeout`) cancels the run; cleanup still happens
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    results: dict[tuple[str, str], list[Figures]] = {}
    with gunicorn_httpbin() as app_port, tempfile.TemporaryDirectory(prefix="golive-bench-") as tmp:
        async with routers(app_port, Path(tmp), kinds) as ports:
            targets: dict[str, tuple[int, int | None]] = {"direct": (app_port, None), **ports}
            names = list(targets)
            for name in names:  # warm every path (connections, caches) once
                await asyncio.to_thread(wrk, targets[name][0], 16, 1)
            for r in range(rounds):
                order = names[r % len(names) :] + names[: r % len(names)]
                for mode, conns in MODES.items():
                    for name in order:
                        port, pid = targets[name]
                        figures = await asyncio.to_thread(wrk, port, conns, seconds, pid)
                        results.setdefault((mode, name), []).append(figures)
    print(
        f"benchmark realapp: httpbin on gunicorn (gthread 2x4), wrk GET /get, {rounds} interleaved "
        f"rounds of {seconds:g} s per target and mode; medians, ratio to direct"
    )
    for mode in MODES:
        base = results[(mode, "direct")]
        b_rps, b50, b99 = (statistics.median(x[i] for x in base) for i in range(3))
        print(f"  {mode} ({MODES[mode]} connection{'s' if MODES[mode] > 1 else ''}):")
        for name in ["direct", *kinds]:
            runs = results[(mode, name)]
            rps, p50, p99 = (statistics.median(x[i] for x in runs) for i in range(3))
            errors = sum(x[3] for x in runs)
            cpu = statistics.median(x[4] for x in runs)
            print(
                f"    {name:8} {rps:8.0f} req/s (x{rps / b_rps:.2f})  p50 {p50:6.2f} ms "
                f"(x{p50 / b50:.2f})  p99 {p99:6.2f} ms (x{p99 / b99:.2f})  errors {errors}"
                + (f"  proxy CPU {cpu:4.0f} us/request" if name != "direct" else "")
            )


def cli() -> None:
    parser = argparse.ArgumentParser(prog="scripts/bench realapp")
    parser.add_argument("--rounds", type=int, default=3, choices=range(1, 11))
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--routers", default=",".join(ROUTERS))
    args = parser.parse_args(sys.argv[1:])
    if not 1 <= args.seconds <= 30:
        parser.error("--seconds: 1 to 30")
    kinds = tuple(k for k in args.routers.split(",") if k in ROUTERS)
    run(lambda: main(args.rounds, args.seconds, kinds))


if __name__ == "__main__":
    cli()
