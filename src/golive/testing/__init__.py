"""Public fakes for testing golive and code built on it: a fake clock, an in-memory router, a
scripted metric source and a fake deployer. They satisfy the same protocols (and the same
contract tests) as the real providers, and do no I/O."""

from golive.testing.fakes import FakeClock, FakeDeployer, FakeRouter, ScriptedMetrics, passing_check

__all__ = ["FakeClock", "FakeDeployer", "FakeRouter", "ScriptedMetrics", "passing_check"]
