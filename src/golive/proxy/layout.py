"""Where a proxy golive runs keeps its files: ``<state-dir>/<router>/<service>[.N]/``.

The router writes there, its metric source reads its logs there, ``golive run`` finds a proxy
already listening by the pid file there and ``golive down`` stops what the pid files name; one
function says where, so that none of them can disagree.
"""

from __future__ import annotations

from pathlib import Path


def instance_dir(service: str, index: int) -> str:
    """The state directory name of a fleet's ``index``-th proxy (the first keeps the plain name)."""
    return service if index == 0 else f"{service}.{index + 1}"


def proxy_dir(state_dir: Path, router: str, service: str, index: int = 0) -> Path:
    """The working directory of the ``index``-th proxy of kind ``router`` for ``service``."""
    return state_dir / router / instance_dir(service, index)
