"""The deployment report and the audit export as a user meets them: real rollouts (the demo's
Envoy and sample apps; a gated rollout signed with hostile notes), the reports the controller
wrote when each ended, ``golive report`` in three formats, ``golive audit export`` checked by
``golive audit verify --file`` against the head the report printed, and the HTML report opened
in Debian's Chromium (screenshots in ``artifacts/screenshots/``)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import playwright.sync_api as playwright_api
import pytest

from tests.e2e.test_cli import golive
from tests.e2e.test_dashboard import CHROMIUM, SHOTS
from tests.e2e.test_gates import apps, plan, run_as_alice, team, wait_for  # noqa: F401
from tests.e2e.test_gates import golive as golive_as

pytestmark = pytest.mark.e2e
NOTE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"> | a|b'
EVIL = NOTE + "\n# h"  # a note is one line; a plan's text may hold more


@pytest.fixture(scope="module")
def browser() -> Iterator[playwright_api.Browser]:
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


def open_report(browser: playwright_api.Browser, path: Path, shot: str) -> playwright_api.Page:
    """The HTML report opened from disk with the network cut: it must need none."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, offline=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{shot}.png"), full_page=True)
    assert errors == [], errors  # no script refused by the page's CSP, none failed
    return page


def demo(workdir: Path, *flags: str) -> tuple[str, Path]:
    """A demo rollout run to its end; its id and state directory."""
    result = golive("demo", *flags, cwd=workdir, timeout=240)
    assert result.returncode in (0, 3), result.stdout + result.stderr
    state = workdir / ".golive" / "demo"
    listed = json.loads(golive("--state-dir", str(state), "status", "--json", cwd=workdir).stdout)
    return str(listed[0]["id"]), state


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    golive("--state-dir", ".golive/demo", "down", cwd=tmp_path, timeout=60)


def reports(state: Path, rid: str) -> dict[str, str]:
    return {fmt: (state / "reports" / f"{rid}.{fmt}").read_text() for fmt in ("md", "html", "json")}


def test_a_promoted_rollout_reports_itself_and_its_export_checks_against_the_head(
    workdir: Path, browser: playwright_api.Browser
) -> None:
    rid, state = demo(workdir)
    written = reports(state, rid)  # written by the controller when the rollout ended
    doc = json.loads(written["json"])
    assert doc["outcome"] == "promoted" and doc["versions"] == {
        "stable": "2.0.0",
        "canary": "2.1.0",
    }
    assert doc["scorecard"]["readiness"] == "GO"
    assert doc["stages"] and all(s["metrics"][0]["current"] > 0 for s in doc["stages"])
    assert max(s["canary_weight"] for s in doc["stages"]) == 50.0
    for fmt in ("md", "html", "json"):  # the verb rebuilds the same report from the record
        again = golive("--state-dir", str(state), "report", rid[:20], "--format", fmt, cwd=workdir)
        assert again.returncode == 0, again.stderr
        assert again.stdout == written[fmt]
    out = workdir / "r.md"
    golive("--state-dir", str(state), "report", rid, "--output", str(out), cwd=workdir)
    assert out.read_text() == written["md"]
    assert "| Metric | Baseline (stable) | Current (canary) | Change | Status |" in written["md"]
    assert doc["head"]["head"] in written["md"] and doc["head"]["head"] in written["html"]

    export = workdir / "journal.jsonl"
    made = golive("--state-dir", str(state), "audit", "export", rid, "--output", str(export),
                  cwd=workdir)  # fmt: skip
    assert made.returncode == 0 and f"export head: {doc['head']['head']}" in made.stdout
    elsewhere = workdir / "auditor"  # a third party: no state directory, no key
    elsewhere.mkdir()
    shutil.copy(export, elsewhere / "journal.jsonl")
    ok = golive("audit", "verify", "--file", "journal.jsonl", "--head", doc["head"]["head"],
                cwd=elsewhere)  # fmt: skip
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "ends at the head you gave" in ok.stdout and "HMACs not checked" in ok.stdout
    keyed = golive("--state-dir", str(state), "audit", "verify", "--file", str(export), cwd=workdir)
    assert "HMACs checked with the key" in keyed.stdout
    lines = export.read_text().split("\n")
    lines[3] = lines[3].replace('"kind": "', '"kind": "x', 1)
    (elsewhere / "edited.jsonl").write_text("\n".join(lines))
    bad = golive("audit", "verify", "--file", "edited.jsonl", cwd=elsewhere)
    assert bad.returncode == 5 and "line 4: its content does not match its link" in bad.stdout

    page = open_report(browser, state / "reports" / f"{rid}.html", "report-promoted")
    assert page.get_attribute("body", "data-charts") == "drawn"
    assert page.locator(".charts canvas").count() == 4
    assert page.locator("header.summary .outcome").inner_text() == "promoted"


def test_a_rolled_back_rollout_reports_the_reason_and_the_worse_metrics(
    workdir: Path, browser: playwright_api.Browser
) -> None:
    rid, state = demo(workdir, "--bad")
    doc = json.loads(reports(state, rid)["json"])
    assert doc["outcome"] == "rolled_back" and doc["reason"]
    assert "rollback_started" in [e["kind"] for e in doc["rollback_evidence"]]
    statuses = [m["status"] for s in doc["stages"] for m in s["metrics"]]
    assert "worse" in statuses
    md = golive("--state-dir", str(state), "report", rid, cwd=workdir).stdout
    assert "## Why it ended" in md and "rolled back" in md
    page = open_report(browser, state / "reports" / f"{rid}.html", "report-rolled-back")
    assert page.locator(".ending .reason").inner_text() == doc["reason"]
    assert page.locator("td.bad").count() >= 1


def test_hostile_notes_risks_and_check_output_render_as_text(
    team: Path,  # noqa: F811 (the fixture)
    apps: tuple[int, int],  # noqa: F811
    browser: playwright_api.Browser,
) -> None:
    text = plan(apps, go_at=7).replace(
        "checklist:",
        "  - {name: hostile, command: {argv: [sh, -c, "
        + json.dumps(f"echo {json.dumps(NOTE)}; exit 1")
        + "]}, category: operations}\nchecklist:",
    )
    risk = f"{{risk: {json.dumps(EVIL)}, likelihood: high, impact: high, mitigation: {json.dumps(EVIL)}}}"
    text += f"risks:\n  - {risk}\n"
    (team / "plan.yaml").write_text(text)
    with run_as_alice(team) as run:
        rid = str(wait_for(team, "confirmation of rollback-plan")["id"])
        ok = golive_as("confirm", rid, "rollback-plan", "--as", "tech-lead", "--note", NOTE,
                       cwd=team, who="bob")  # fmt: skip
        assert ok.returncode == 0, ok.stderr
        wait_for(team, "approval go-live")
        for who, role in (("alice", "release-manager"), ("bob", "tech-lead")):
            signed = golive_as("approve", rid, "--as", role, "--note", NOTE, cwd=team, who=who)
            assert signed.returncode == 0, signed.stderr
        out, err = run.communicate(timeout=90)
    assert run.returncode == 0, out + err
    written = reports(team / ".golive", rid)
    doc = json.loads(written["json"])
    assert [s["note"] for s in doc["signoffs"]] == [NOTE, NOTE]
    assert doc["risks"][0]["risk"] == EVIL and doc["confirmations"][0]["note"] == NOTE
    sign_rows = [line for line in written["md"].splitlines() if line.startswith("| alice |")]
    assert len(sign_rows) == 1 and sign_rows[0].count(" | ") == 5  # the note's pipes escaped
    assert sign_rows[0].endswith(" a\\|b |")

    page = open_report(browser, team / ".golive" / "reports" / f"{rid}.html", "report-hostile")
    assert page.evaluate("typeof window.__pwned") == "undefined"  # no script of theirs ran
    assert page.locator("img").count() == 0
    shown = page.locator("main").inner_text()
    assert "<script>window.__pwned=1</script>" in shown
    assert "sh exited with 1, expected 0: <script>window.__pwned=1</script><img src=x" in shown
