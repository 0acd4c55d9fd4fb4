"""ProcessDeployer with real sample apps on loopback: what golive owns, per rollout and version,
is what it stops; a server it did not start is never adopted unless the plan says so."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from golive.core.results import Health
from golive.deploy.ownership import owned_processes
from golive.deploy.process import ProcessDeployer
from golive.errors import PermanentError
from golive.plan.loader import parse_plan
from golive.plan.model import Plan, Revision
from golive.processes import pid_alive
from tests.conftest import free_port, start_app

pytestmark = pytest.mark.integration


def release(stable: tuple[str, int], canary: tuple[str, int], adopt: bool = False) -> Plan:
    (sv, sp), (cv, cp) = stable, canary
    return parse_plan(
        f"""\
service: shop
revisions:
  stable: {{version: "{sv}", url: "http://127.0.0.1:{sp}"}}
  canary:
    version: "{cv}"
    url: "http://127.0.0.1:{cp}"
    process:
      command: ["{sys.executable}", -m, golive.demo.app, --port, "{cp}", --version, "{cv}"]
      ready: "http://127.0.0.1:{cp}/health"
      adopt: {str(adopt).lower()}
route: {{router: envoy, listen: "127.0.0.1:{free_port()}"}}
steps: [{{deploy: canary}}, promote]
""",
        "plan.yaml",
    )


async def until_ready(deployer: ProcessDeployer, revision: Revision) -> None:
    for _ in range(200):
        if await deployer.status(revision) is Health.READY:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{revision} never became ready")


async def test_the_promoted_canary_is_the_next_releases_stable_and_only_its_own_is_stopped(
    tmp_path: Path,
) -> None:
    service_dir = tmp_path / "revisions" / "shop"
    p, q = free_port(), free_port()
    first = ProcessDeployer(release(("1.4.0", free_port()), ("1.5.0", p)), service_dir, "shop-a")
    second = ProcessDeployer(release(("1.5.0", p), ("1.6.0", q)), service_dir, "shop-b")
    try:
        await first.ensure(Revision.CANARY)
        await until_ready(first, Revision.CANARY)
        serving = first.pid(Revision.CANARY)
        assert serving is not None and await first.owns(Revision.CANARY)
        # the next release finds 1.5.0 as its stable, golive's own: not restarted, not its canary
        assert await second.owns(Revision.STABLE)
        assert second.pid(Revision.STABLE) == serving
        assert await second.status(Revision.STABLE) is Health.READY
        assert not await second.owns(Revision.CANARY)
        await second.retire(Revision.CANARY)  # 1.6.0 was never started: the clean-up stops nothing
        assert pid_alive(serving)
        await second.ensure(Revision.CANARY)
        await until_ready(second, Revision.CANARY)
        versions = {
            (o.owner.version, o.owner.rollout) for o in owned_processes(tmp_path / "revisions")
        }
        assert versions == {("1.5.0", "shop-a"), ("1.6.0", "shop-b")}
        # after the second promotes, its old stable is golive's to retire
        await second.retire(Revision.STABLE)
        assert not pid_alive(serving)
        assert [o.owner.version for o in owned_processes(tmp_path / "revisions")] == ["1.6.0"]
    finally:
        for deployer in (first, second):
            for revision in Revision:
                await deployer.retire(revision)
            await deployer.aclose()


async def test_a_port_that_already_answers_is_an_error_unless_the_plan_adopts_it(
    tmp_path: Path,
) -> None:
    theirs, port = start_app("2.1.0", latency_ms=1)
    plan = release(("2.0.0", free_port()), ("2.1.0", port))
    deployer = ProcessDeployer(plan, tmp_path / "revisions" / "shop", "shop-a")
    adopting = ProcessDeployer(
        release(("2.0.0", free_port()), ("2.1.0", port), adopt=True),
        tmp_path / "revisions" / "shop",
        "shop-b",
    )
    try:
        assert await deployer.status(Revision.CANARY) is Health.OCCUPIED
        with pytest.raises(PermanentError, match="adopt: true"):
            await deployer.ensure(Revision.CANARY)
        assert await adopting.status(Revision.CANARY) is Health.READY
        await adopting.ensure(Revision.CANARY)
        assert not await adopting.owns(Revision.CANARY)
        await adopting.retire(Revision.CANARY)
        assert theirs.poll() is None, "golive stopped a server it did not start"
        assert owned_processes(tmp_path / "revisions") == []
    finally:
        for d in (deployer, adopting):
            await d.aclose()
        theirs.terminate()
        theirs.wait(10)


async def test_a_process_left_by_another_rollout_is_not_silently_reused(tmp_path: Path) -> None:
    plan = release(("2.0.0", free_port()), ("2.1.0", free_port()))
    earlier = ProcessDeployer(plan, tmp_path / "revisions" / "shop", "shop-a")
    rerun = ProcessDeployer(plan, tmp_path / "revisions" / "shop", "shop-b")
    try:
        await earlier.ensure(Revision.CANARY)
        await until_ready(earlier, Revision.CANARY)
        assert await rerun.status(Revision.CANARY) is Health.OCCUPIED
        with pytest.raises(PermanentError, match="already runs it for rollout shop-a"):
            await rerun.ensure(Revision.CANARY)
    finally:
        await earlier.retire(Revision.CANARY)
        for d in (earlier, rerun):
            await d.aclose()
