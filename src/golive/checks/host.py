"""Host checks: disk and memory use, CPU load per core, against warn and fail thresholds."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from golive.checks.base import Probe
from golive.plan.checks import Cpu, Disk, Memory


def _grade(used: float, fail: float, warn: float | None, what: str, unit: str = "%") -> Probe:
    def limit(x: float) -> str:
        return f"{x * 100:.0f}%" if unit == "%" else f"{x:g}"

    shown = f"{used * 100:.0f}%" if unit == "%" else f"{used:.2f}"
    if used > fail:
        return Probe.failed(shown, f"{what} {shown}, over {limit(fail)}")
    if warn is not None and used > warn:
        return Probe.warned(shown, f"{what} {shown}, over the {limit(warn)} warning level")
    return Probe.passed(shown, f"{what} {shown}")


async def disk(o: Disk) -> Probe:
    usage = shutil.disk_usage(o.path)
    return _grade(usage.used / usage.total, o.max_used, o.warn_used, f"disk {o.path} used")


def memory_used() -> float:
    fields = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        key, _, rest = line.partition(":")
        fields[key] = int(rest.split()[0])
    return 1 - fields["MemAvailable"] / fields["MemTotal"]


async def memory(o: Memory) -> Probe:
    return _grade(memory_used(), o.max_used, o.warn_used, "memory used")


async def cpu(o: Cpu) -> Probe:
    load = os.getloadavg()[0] / (os.cpu_count() or 1)
    return _grade(load, o.max_load, o.warn_load, "load per core", unit="load")
