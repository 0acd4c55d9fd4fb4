"""Pre-flight: how long the check catalogue takes, alone and all at once, and what it costs.

(a) each kind of check, 20 runs against real local things (the sample app, a git work tree,
    this repository's sources for the secrets scan): median and p95 wall time;
(b) a 60-check pre-flight run concurrently, as `check: preflight` does: wall time and the
    sum of its checks' times (how much running them at once saves);
(c) a host that accepts connections and never answers, with a 1 s timeout and 1 retry:
    how long until the check has failed (the bound no check may exceed);
(d) peak memory (max RSS) of this process after all of it.
"""

from __future__ import annotations

import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.harness import pct, run
from golive.checks.catalogue import run_check
from golive.checks.preflight import run_checks
from golive.demo.app import start_sample_app
from golive.plan import checks as c
from golive.proxy.ports import free_port

RUNS = 20
ROOT = Path(__file__).resolve().parent.parent


def kinds(app: int, repo: Path) -> dict[str, c.Options]:
    return {
        "http": c.Http(f"http://127.0.0.1:{app}/health", json={"status": "ok"}),
        "tcp": c.Tcp("127.0.0.1", app),
        "dns": c.Dns("localhost", ("127.0.0.1",)),
        "file": c.File(str(repo / "*.md"), max_age=86400.0),
        "disk": c.Disk("/", max_used=1.0, warn_used=None),
        "memory": c.Memory(max_used=1.0, warn_used=None),
        "cpu": c.Cpu(max_load=1000.0, warn_load=None),
        "git": c.Git(str(repo)),
        "command": c.Command(("true",)),
        "docs": c.Docs(str(repo), ("README.md",)),
        "secrets (src/, ~90 files)": c.Secrets(str(ROOT / "src")),
    }


def make_repo(root: Path) -> Path:
    repo = root / "repo"
    repo.mkdir()
    (repo / "README.md").write_text("# shop\n")
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "x"]):
        subprocess.run(
            ["git", "-C", str(repo), "-c", "user.name=b", "-c", "user.email=b@b", *args],
            check=True, capture_output=True,
        )  # fmt: skip
    return repo


async def main() -> None:
    proc, app = start_sample_app("1.0.0", latency_ms=1.0)
    try:
        with tempfile.TemporaryDirectory(prefix="golive-bench-") as tmp:
            repo = make_repo(Path(tmp))
            print(f"(a) one check at a time, {RUNS} runs each:")
            for name, options in kinds(app, repo).items():
                kind = name.split()[0]
                times = []
                for _ in range(RUNS if kind != "secrets" else 5):
                    probe, took = await run_check(c.Check(name, kind, options, retries=0))
                    assert probe.outcome.value != "fail", (name, probe)
                    times.append(took)
                print(f"    {name:<26} median {statistics.median(times) * 1000:7.1f} ms,"
                      f" p95 {pct(times, 0.95) * 1000:7.1f} ms")  # fmt: skip
            plain = [(n, o) for n, o in kinds(app, repo).items() if not n.startswith("secrets")]
            checks = tuple(c.Check(f"{n} {i}", n, o, retries=0) for i in range(6) for n, o in plain)
            started = time.perf_counter()
            items = await run_checks(checks)
            wall = time.perf_counter() - started
            total = sum(i.seconds for i in items)
            print(f"(b) {len(checks)} checks at once: {wall * 1000:.0f} ms wall, "
                  f"{total * 1000:.0f} ms if run one after another "
                  f"(x{total / wall:.1f})")  # fmt: skip
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        try:
            check = c.Check("silent", "http", c.Http(f"http://127.0.0.1:{silent.getsockname()[1]}/"),
                            timeout=1.0, retries=1)  # fmt: skip
            probe, took = await run_check(check)
        finally:
            silent.close()
        print(f"(c) a host that never answers (timeout 1 s, 1 retry): failed after {took:.2f} s:"
              f" {probe.reason}")  # fmt: skip
        refused = c.Check("refused", "tcp", c.Tcp("127.0.0.1", free_port()), retries=0)
        probe, took = await run_check(refused)
        print(f"    a refused port: failed after {took * 1000:.1f} ms: {probe.reason}")
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"(d) max RSS of the benchmark process: {rss:.0f} MiB")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(run(main))  # type: ignore[func-returns-value]
