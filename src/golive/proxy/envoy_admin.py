"""Envoy's admin interface, shared by the router (routes, readiness, refused updates) and the
metric source (per-cluster statistics): one client, so neither imports the other."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import httpx

from golive.errors import TransientError
from golive.files import socket_path


def admin_socket(workdir: Path) -> Path:
    """Where golive's Envoy in ``workdir`` has its admin interface (in the temp dir when the
    path would be too long for a unix socket)."""
    return socket_path(workdir, "admin.sock")


class EnvoyAdmin:
    """Envoy's admin interface, on a 0600 unix socket (no other local user may reach it, and
    ``POST /quitquitquit`` with it): HTTP through a unix-domain transport."""

    BASE_URL = "http://envoy-admin"  # the host is not used: the transport dials the socket

    def __init__(self, socket: Path, timeout: float = 2.0) -> None:
        self.socket = socket
        self._client = httpx.AsyncClient(
            transport=httpx.AsyncHTTPTransport(uds=str(socket)),
            base_url=self.BASE_URL,
            timeout=timeout,
            trust_env=False,
        )

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> httpx.Response:
        """``GET path`` answered 2xx, or a transient error naming the socket."""
        try:
            resp = await self._client.get(path, params=params)
            resp.raise_for_status()
        except httpx.HTTPError as exc:
            raise TransientError(
                f"cannot read Envoy's {path} through its admin socket {self.socket}: {exc}"
            ) from exc
        return resp

    async def stat(self, name: str) -> int:
        """One counter or gauge from ``/stats`` (absent means 0)."""
        resp = await self.get("/stats", {"format": "json", "filter": f"^{name}$"})
        try:
            stats = resp.json().get("stats", [])
        except ValueError as exc:
            raise TransientError(f"Envoy answered /stats with something else: {exc}") from exc
        return int(stats[0]["value"]) if stats else 0

    async def aclose(self) -> None:
        await self._client.aclose()
