"""Whether a listen address is free, asked of real proxies: golive's own proxy for the service
is where a later run attaches, not "in use"; anyone else listening there is."""

from __future__ import annotations

from pathlib import Path

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
        assert str(info.value) == (
            f"127.0.0.1:{port} is already in use by another process; choose another route.listen"
        )
    finally:
        await proxy.stop()
        await proxy.aclose()
    check_listen(shop, state_dir)
