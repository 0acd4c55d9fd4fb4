"""The dashboard as a person sees it: Playwright driving Debian's Chromium against
``golive demo --serve`` (a real canary through a real Envoy, the server in the demo's process).

The tests run in order against one demo: weights move on screen without a reload, the
approver signs the gate and the rollout goes on, a viewer sees no button, the war room and the
public status page show where it stands. Screenshots go to the test's directory and are copied
to ``artifacts/screenshots/`` in the repository (ignored by git) to be looked at.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import playwright.sync_api as playwright_api
import pytest

pytestmark = pytest.mark.e2e
CHROMIUM = "/usr/bin/chromium"
GOLIVE = str(Path(sys.executable).parent / "golive")
REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "artifacts" / "screenshots"
# a real component the tests need is never skipped: scripts/services installs Debian's chromium
assert Path(CHROMIUM).exists(), "Debian's chromium is not installed: run scripts/services"

expect = playwright_api.expect
expect.set_options(timeout=20_000)  # a loaded 2-core machine renders slowly: wait, don't fail


@dataclass
class Demo:
    process: subprocess.Popen[str]
    url: str
    page: str
    approver: str
    viewer: str
    operator: str
    lines: list[dict[str, object]]
    shots: Path


def _reader(process: subprocess.Popen[str], out: queue.Queue[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        out.put(line)


def _mint(state: Path, user: str, roles: tuple[str, ...]) -> str:
    from golive.cli.session import open_store
    from golive.identity import Identity
    from golive.operations import tokens

    async def mint() -> str:
        store = open_store(state)
        try:
            admin = Identity("test", (), "token", admin=True)
            return await tokens.add(store, admin, user, roles, False, None, time.time())
        finally:
            store.close()

    return asyncio.run(mint())


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    work = tmp_path_factory.mktemp("dashboard")
    shots = work / "screenshots"
    shots.mkdir()
    process = subprocess.Popen(
        [GOLIVE, "demo", "--serve", "--json"], cwd=work, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        start_new_session=True,
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_reader, args=(process, lines), daemon=True).start()
    seen: list[dict[str, object]] = []
    announced: dict[str, object] | None = None
    try:
        deadline = time.monotonic() + 60
        while announced is None and time.monotonic() < deadline:
            line = lines.get(timeout=deadline - time.monotonic())
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            seen.append(doc)
            if "dashboard" in doc:
                announced = doc
        assert announced is not None, "golive demo --serve never printed its dashboard"
        url = str(announced["dashboard"])
        assert url.startswith("http://127.0.0.1:")
        state = work / ".golive" / "demo"
        viewer, operator = _mint(state, "vera-viewer", ()), _mint(state, "otto-ops", ("operator",))
        yield Demo(process, url, str(announced["rollout_page"]), str(announced["login_token"]),
                   viewer, operator, seen, shots)  # fmt: skip
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
        if process.stdout is not None:
            process.stdout.close()
        subprocess.run([GOLIVE, "--state-dir", ".golive/demo", "down"], cwd=work,
                       capture_output=True, timeout=60)  # fmt: skip
        SHOTS.mkdir(parents=True, exist_ok=True)
        for shot in shots.glob("*.png"):
            shutil.copy(shot, SHOTS / shot.name)


@pytest.fixture(scope="module")
def browser(demo: Demo) -> Iterator[object]:
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


def _login(browser: object, demo: Demo, token: str, width: int = 1400, height: int = 1000):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": width, "height": height})  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(demo.url)
    expect(page).to_have_url(f"{demo.url}login")
    if not (demo.shots / "00-login.png").exists():
        _shot(page, demo, "00-login")
    page.fill("#token", token)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Rollouts")
    return context, page


def _shot(page, demo: Demo, name: str) -> None:  # type: ignore[no-untyped-def]
    page.screenshot(path=str(demo.shots / f"{name}.png"), full_page=True)


def test_weights_change_on_screen_without_a_reload(demo: Demo, browser: object) -> None:
    context, page = _login(browser, demo, demo.approver)
    try:
        _shot(page, demo, "01-rollouts")
        page.goto(demo.page)
        page.evaluate("window.__notReloaded = true")
        expect(page.locator('[data-live="connection"]')).to_have_text("live")
        canary = page.get_by_test_id("canary-weight")
        expect(canary).to_have_text("0%")  # beta users only, for the first steps
        _shot(page, demo, "02-rollout-starting")
        expect(canary).to_have_text("5%", timeout=60_000)
        expect(page.get_by_test_id("stable-weight")).to_have_text("95%")
        assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"
        assert demo.approver not in page.content()
        assert demo.approver not in page.url
    finally:
        context.close()


def test_an_operators_rollback_asks_for_a_reason_first(demo: Demo, browser: object) -> None:
    context, page = _login(browser, demo, demo.operator)
    try:
        page.goto(demo.page)
        expect(page.locator(".waiting").first).to_contain_text("approval", timeout=60_000)
        expect(page.get_by_role("button", name="Approve as release-manager")).to_have_count(0)
        page.get_by_role("button", name="Roll back").click()
        dialog = page.locator("#confirm-dialog")
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text("Roll back now?")
        dialog.get_by_role("button", name="Roll back").click()  # no reason: the form refuses
        expect(dialog).to_be_visible()
        page.fill("#dialog-reason", "changed my mind")
        _shot(page, demo, "03a-rollback-confirmation")
        dialog.get_by_role("button", name="Cancel").click()
        expect(dialog).to_be_hidden()
        expect(page.get_by_test_id("phase")).to_have_text("progressing")
        expect(page.locator(".journal")).not_to_contain_text("API rollback")
    finally:
        context.close()


def test_an_approver_signs_off_and_the_rollout_moves_on(demo: Demo, browser: object) -> None:
    context, page = _login(browser, demo, demo.approver)
    try:
        page.goto(demo.page)
        page.evaluate("window.__notReloaded = true")
        approve = page.get_by_role("button", name="Approve as release-manager")
        expect(approve).to_be_visible(timeout=60_000)
        expect(page.locator(".signoffs .waiting")).to_contain_text("release-manager")
        page.wait_for_function("document.querySelectorAll('#chart-rate .u-over').length > 0")
        _shot(page, demo, "03-rollout-waiting-for-sign-off")
        approve.click()
        expect(page.get_by_test_id("canary-weight")).to_have_text("25%", timeout=60_000)
        expect(page.locator(".signoffs")).to_contain_text("approved by demo-approver")
        expect(approve).to_have_count(0)
        assert page.evaluate("window.__notReloaded === true")
        expect(page.locator(".journal")).to_contain_text("demo-approver")
        _shot(page, demo, "04-rollout-after-approval")
    finally:
        context.close()


def test_a_viewer_sees_no_buttons(demo: Demo, browser: object) -> None:
    context, page = _login(browser, demo, demo.viewer)
    try:
        page.goto(demo.page)
        expect(page.get_by_test_id("phase")).to_be_visible()
        expect(page.locator(".who")).to_contain_text("vera-viewer")
        expect(page.locator("button[data-action]")).to_have_count(0)
        expect(page.locator('[data-panel="actions"]')).to_be_hidden()
        _shot(page, demo, "05-rollout-as-viewer")
        page.set_viewport_size({"width": 420, "height": 900})  # a phone
        page.wait_for_function("document.querySelector('#chart-rate .uplot').offsetWidth <= 420")
        _shot(page, demo, "05b-rollout-on-a-phone")
    finally:
        context.close()


def test_the_war_room_shows_big_figures(demo: Demo, browser: object) -> None:
    context, page = _login(browser, demo, demo.viewer, width=1920, height=1080)
    try:
        page.goto(demo.page + "/warroom")
        expect(page.locator('[data-fig="canary-rate"]')).not_to_have_text("–", timeout=30_000)
        expect(page.locator('[data-fig="stable-p95"]')).to_contain_text("ms")
        _shot(page, demo, "06-war-room")
    finally:
        context.close()


def test_the_status_page_shows_the_phases(demo: Demo, browser: object) -> None:
    context = browser.new_context(viewport={"width": 1000, "height": 800})  # type: ignore[attr-defined]
    page = context.new_page()
    try:
        page.goto(demo.url.replace("/ui/", "/status/demo-shop"))
        expect(page.locator("h1")).to_contain_text("demo-shop")
        phases = page.locator("ol li")
        expect(phases.first.locator(".name")).to_have_text("Pre-flight checks")
        expect(phases.first.locator(".state")).to_have_text("done")
        approval = page.locator("ol li", has_text="Approval")
        expect(approval.locator(".state")).to_have_text(re.compile("^(done|in progress|pending)$"))
        expect(page.locator(".pill")).to_have_text(re.compile("^(in progress|complete)$"))
        expect(page.locator("ol")).to_contain_text("100% rollout")
        _shot(page, demo, "07-status-page")
    finally:
        context.close()
