"""Loopback ports golive picks for itself (nginx's status server, the demo's apps).

Kept low and dependency-free: routers, the demo and the tests all need a free port, and none of
them should import another for it.
"""

from __future__ import annotations

import socket


def free_port() -> int:
    """An unused TCP port on 127.0.0.1 (the kernel's pick; free when asked, not reserved)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
