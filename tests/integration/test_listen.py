"""Whether a listen address is free, asked of real proxies: golive's own proxy for the service
is where a later run attaches, not "in use"; anyone else listening there is."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from golive.errors import PermanentError
from golive.plan.loader import parse_plan
from golive.plan.model import Plan, Split
from golive.traffic.envoy import EnvoyRouter
from golive.traffic.haproxy import HAProxyRouter
from golive.traffic.listen import check_listen
from golive.traffic.nginx import NginxRouter
from tests.conftest import free_port

pytestmark = pytest.mark.integration
ROUTERS = {"envoy": EnvoyRouter, "haproxy": HAProxyRouter, "nginx": NginxRouter}
NAMES = {"envoy": "Envoy", "haproxy": "HAProxy", "nginx": "nginx"}


def plan(service: str, router: str, port: int, apps: dict[str, int]) -> Plan:
    return parse_plan(
        f"""\
service: {service}
revisions:
  stable: {{version: 1.0.0, url: "http://127.0.0.1:{apps["stable"]}"}}
  canary: {{version: 2.0.0, url: "http://127.0.0.1:{apps["canary"]}"}}
route: {{router: {router}, listen: "127.0.0.1:{port}"}}
metrics: {{source: prometheus, url: "http://127.0.0.1:9090", queries: {{requests: r}}}}
steps: [{{shift: 50}}, promote]
""",
        "plan.yaml",
    )


@pytest.mark.parametrize("router", sorted(ROUTERS))
async def test_golives_own_proxy_on_the_port_is_not_in_use_but_another_services_is(
    tmp_path: Path, apps: dict[str, int], router: str
) -> None:
    port, state_dir = free_port(), tmp_path / "state"
    shop = plan("shop", router, port, apps)
    proxy = ROUTERS[router].from_plan(shop, state_dir)  # type: ignore[attr-defined]
    check_listen(shop, state_dir)  # free
    assert await proxy.start(Split.all_stable())
    try:
        check_listen(shop, state_dir)  # golive's own, for this service: a later run attaches
        with pytest.raises(PermanentError) as info:
            check_listen(plan("books", router, port, apps), state_dir)
        assert str(info.value).startswith(
            f"127.0.0.1:{port} is held by golive's {NAMES[router]} for service shop "
            f"(state directory {state_dir}, pid "
        )
    finally:
        await proxy.stop()
        await proxy.aclose()
    check_listen(shop, state_dir)


def test_a_port_held_by_anyone_else_is_in_use_by_another_process(tmp_path: Path) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        with pytest.raises(PermanentError) as info:
            check_listen(plan("shop", "envoy", port, {"stable": 1, "canary": 2}), tmp_path)
    assert str(info.value) == (
        f"127.0.0.1:{port} is already in use by another process; choose another route.listen"
    )


@pytest.mark.parametrize("router", sorted(ROUTERS))
async def test_a_second_golive_on_the_same_port_is_refused_and_the_first_keeps_serving(
    tmp_path: Path, apps: dict[str, int], router: str
) -> None:
    port, first_dir, second_dir = free_port(), tmp_path / "first", tmp_path / "second"
    shop = plan("shop", router, port, apps)
    first = ROUTERS[router].from_plan(shop, first_dir)  # type: ignore[attr-defined]
    assert await first.start(Split(100.0))
    try:
        with pytest.raises(PermanentError) as info:  # before any rollout is created
            check_listen(shop, second_dir)
        assert str(info.value).startswith(
            f"127.0.0.1:{port} is held by golive's {NAMES[router]} for service shop "
            f"(state directory {first_dir}, pid "
        ), str(info.value)
        # two runs that both checked before either started: the second proxy refuses the port
        second = ROUTERS[router].from_plan(shop, second_dir)  # type: ignore[attr-defined]
        try:
            with pytest.raises(PermanentError, match=f"did not start on 127.0.0.1:{port}"):
                await second.start(Split.all_stable())
        finally:
            await second.stop()
            await second.aclose()
        async with httpx.AsyncClient(trust_env=False, timeout=5) as client:
            for _ in range(20):  # every client still reaches the first proxy (100% canary)
                answer = await client.get(f"http://127.0.0.1:{port}/")
                assert answer.json()["version"] == "2.0.0"
    finally:
        await first.stop()
        await first.aclose()
