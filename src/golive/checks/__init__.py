"""Checks: probes a step waits on (smoke tests, pre-flight)."""
