"""golive: go-live as code.

A release runbook (pre-flight, blue-green deploy, canary steps judged on live traffic, automatic
rollback, approvals, a durable record) executed as a plan by one process.
"""

__version__ = "0.1.0"
