"""Whether a route's listen addresses are free for golive's proxy, asked before a rollout starts.

A proxy that cannot bind its port does not start, and a rollout created around it could not
move traffic; so ``golive run`` asks first and refuses with the address to change. An address
held by golive's own proxy for this service (a later run attaches to it by its pid file) is
not busy: it is where that run will attach. A port held by golive's proxy of another service
or another state directory is named as such, so the person at the terminal knows which
``golive down`` frees it. The proxies bind exclusively too (no ``SO_REUSEPORT``), so two runs
that both checked before either started cannot both listen.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
from pathlib import Path

from golive.errors import PermanentError
from golive.plan.kinds import ROUTERS
from golive.plan.model import Plan
from golive.processes import holds_listener, listeners_of, live_pid
from golive.proxy.layout import proxy_dir


def proxy_pid_file(plan: Plan, state_dir: Path, index: int) -> Path:
    """Where golive's own proxy for the ``index``-th listen address records its pid (each
    router's ``from_plan``: ``<state-dir>/<router>/<service>/<router>.pid``)."""
    router = plan.route.router
    return proxy_dir(state_dir, router, plan.service, index) / f"{router}.pid"


def bind_problem(host: str, port: int) -> str | None:
    """Why a listening socket cannot be bound at ``host:port`` now, or None when it can."""
    where = f"{host}:{port}"
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as exc:
        return f"{where} cannot be listened on: {host} does not resolve ({exc})"
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is not "in use"
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return f"{where} is already in use by another process"
            if exc.errno == errno.EACCES:
                return f"{where} needs privileges to listen on (ports below 1024)"
            return f"{where} cannot be listened on: {exc.strerror}"
    return None


def golive_holder(port: int) -> str | None:
    """``golive's Envoy for service S (state directory D, pid N)`` when a proxy golive started
    (from any state directory) listens on ``port``; None for anyone else or nobody."""
    for pid in listeners_of(port):
        for candidate in (pid, _parent(pid)):
            described = _describe(candidate)
            if described is not None:
                return described
    return None


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def _describe(pid: int) -> str | None:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return None
    words = argv.replace("\0", " ").split()  # nginx's master rewrites its title with spaces
    # how each golive proxy is started (its router kind's Launch): its configuration file's
    # flag and name, under <state-dir>/<router>/<service>/
    for kind in ROUTERS.kinds():
        if kind.launch is None:
            continue
        router, name, flag, filename = kind.name, kind.label, kind.launch.flag, kind.launch.config
        for i, word in enumerate(words[:-1]):
            config = Path(words[i + 1])
            if not config.is_absolute():  # started from a relative --state-dir: its cwd's
                with contextlib.suppress(OSError):
                    config = Path(os.readlink(f"/proc/{pid}/cwd")) / config
            if word == flag and config.name == filename and config.parent.parent.name == router:
                state_dir, service = config.parent.parent.parent, config.parent.name
                where = f"state directory {state_dir}, pid {pid}"
                return f"golive's {name} for service {service} ({where})"
    return None


def check_listen(plan: Plan, state_dir: Path) -> None:
    """Raise, naming the address, when one of the route's proxies could not listen."""
    kind = ROUTERS.find(plan.route.router)
    if plan.route.attach or kind is None or kind.launch is None:
        return  # the proxies are someone else's (they listen already), or not local ones
    for index in range(len(plan.route.proxy_names())):
        host, port = plan.route.instance(index)
        problem = bind_problem(host, port)
        if problem is None:
            continue
        ours = live_pid(proxy_pid_file(plan, state_dir, index))
        if ours is not None and holds_listener(ours, port):
            continue
        holder = golive_holder(port)
        if holder is not None:
            problem = f"{host}:{port} is held by {holder}"
        raise PermanentError(f"{problem}; choose another route.listen")
