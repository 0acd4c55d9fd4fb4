"""Public fakes for testing golive and code built on it: a fake clock, an in-memory router, a
scripted metric source, a fake deployer and an in-memory store. They satisfy the same protocols
(and the same contract tests) as the real providers and the SQLite store, and do no I/O."""

from golive.testing.fakes import FakeClock, FakeDeployer, FakeRouter, ScriptedMetrics, passing_check
from golive.testing.memory import MemoryStore

__all__ = [
    "FakeClock",
    "FakeDeployer",
    "FakeRouter",
    "MemoryStore",
    "ScriptedMetrics",
    "passing_check",
]
