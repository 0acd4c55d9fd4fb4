"""The migrate step and the migration rollback rules in decide(), on plain values; and the plan's
migration rules (a destructive statement before promotion names the SQL file and line)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from golive.core.actions import ApplySplit, Observation
from golive.core.results import Health, MigrationReport, MigrationStatus
from golive.core.state import Command, CommandVerb, PauseKind, Phase, RolloutId, RolloutState
from golive.engine.decide import decide
from golive.engine.migrations import Refused, Revert, rollback_rules
from golive.errors import PlanError
from golive.plan.loader import load_plan
from golive.plan.model import MigrateStep, Plan, Revision, Split

T0 = 1000.0
RUNNING = MigrationReport(MigrationStatus.RUNNING)
DONE = MigrationReport(MigrationStatus.DONE, "applied")


def plan_file(tmp_path: Path, up: str, down: str | None, extra: str = "", after: str = "") -> Path:
    d = tmp_path / "migrations"
    d.mkdir(parents=True, exist_ok=True)
    (d / "0001_change.up.sql").write_text(up)
    if down is not None:
        (d / "0001_change.down.sql").write_text(down)
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        f"""\
service: shop
revisions:
  stable: {{version: 1.0.0, url: "http://127.0.0.1:9001"}}
  canary: {{version: 2.0.0, url: "http://127.0.0.1:9002"}}
route: {{router: envoy, listen: "127.0.0.1:8080"}}
steps:
  - migrate:
      database: "sqlite:///app.db"
      dir: migrations{extra}
  - shift: 50
  - promote
{after}"""
    )
    return plan


def load(tmp_path: Path, up: str, down: str | None, extra: str = "", after: str = "") -> Plan:
    return load_plan(plan_file(tmp_path, up, down, extra, after))


def state(**kw: object) -> RolloutState:
    base = RolloutState(RolloutId("r1"), Phase.PROGRESSING, 0, T0, Split.all_stable(), T0)
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


def obs(now: float = T0, split: Split | None = Split.all_stable(), **kw: object) -> Observation:
    health = {Revision.STABLE: Health.READY, Revision.CANARY: Health.READY}
    return dataclasses.replace(Observation(now, split, health), **kw)  # type: ignore[arg-type]


ADD = "ALTER TABLE users ADD COLUMN email text;\n"
DROP = "ALTER TABLE users DROP COLUMN email;\n"


def test_a_destructive_statement_before_promotion_is_a_plan_error(tmp_path: Path) -> None:
    with pytest.raises(PlanError) as info:
        load(tmp_path, "CREATE TABLE t (id int);\n\n  ALTER TABLE users DROP COLUMN name;\n", None)
    (issue,) = info.value.issues
    text = str(issue)
    assert "plan.yaml:9:" in text and "steps[0].migrate.dir" in text
    assert "0001_change.up.sql:3:3: destructive before full promotion" in text
    assert "drops a column" in text and "phase: contract" in text


def test_a_contract_migration_runs_after_promote(tmp_path: Path) -> None:
    (tmp_path / "contract").mkdir()
    (tmp_path / "contract" / "0002_drop.up.sql").write_text("ALTER TABLE users DROP COLUMN name;")
    after = (
        '  - migrate:\n      database: "sqlite:///app.db"\n      dir: contract\n'
        "      phase: contract\n"
    )
    plan = load(tmp_path, ADD, DROP, after=after)
    assert isinstance(plan.steps[3], MigrateStep) and plan.steps[3].phase == "contract"
    with pytest.raises(PlanError) as info:
        load(tmp_path, ADD, DROP, extra="\n      phase: contract")
    assert "a contract migration runs after promotion" in str(info.value.issues[0])


def test_missing_directory_and_bad_names_are_plan_errors(tmp_path: Path) -> None:
    plan = plan_file(tmp_path, ADD, DROP)
    (tmp_path / "migrations" / "notes.sql").write_text("SELECT 1;")
    with pytest.raises(PlanError) as info:
        load_plan(plan)
    assert "NNNN_name.up.sql" in str(info.value.issues[0])


def test_downs_safe_only_when_every_down_is_there_and_not_destructive(tmp_path: Path) -> None:
    assert not load(tmp_path / "a", ADD, DROP).steps[0].downs_safe  # type: ignore[union-attr]
    assert not load(tmp_path / "b", ADD, None).steps[0].downs_safe  # type: ignore[union-attr]
    safe = load(tmp_path / "c", "CREATE INDEX i ON users (name);", "DROP INDEX i;")
    assert safe.steps[0].downs_safe  # type: ignore[union-attr]


@pytest.fixture
def plan(tmp_path: Path) -> Plan:
    return load(tmp_path, ADD, DROP)


def test_the_migrate_step_waits_for_its_job_then_advances(plan: Plan) -> None:
    d = decide(plan, state(), obs(migration=RUNNING))
    assert d.state.step == 0 and "migration database" in d.state.waiting_for
    d = decide(plan, state(), obs(migration=DONE))
    assert d.state.step == 1 and d.state.migrated == (0,) and not d.state.canary_wrote


def test_a_failed_migration_rolls_back_traffic_first_then_the_database(plan: Plan) -> None:
    failed = MigrationReport(MigrationStatus.FAILED, "0001_change.up.sql:1:1: boom")
    d = decide(plan, state(), obs(migration=failed))
    assert d.state.phase is Phase.ROLLING_BACK and d.state.migrated == (0,)
    assert d.actions == (ApplySplit(Split.all_stable(), urgent=True),)
    assert d.state.migration_revert == ""  # the database waits for traffic
    d = decide(plan, d.state, obs())  # 100% stable read back: the rules choose
    assert d.state.migration_revert == "restore"  # no canary traffic: the backup
    assert d.state.phase is Phase.ROLLING_BACK
    d = decide(plan, d.state, obs(migration=RUNNING))
    assert d.state.phase is Phase.ROLLING_BACK
    d = decide(plan, d.state, obs(migration=DONE))
    assert d.state.migrated == ()
    d = decide(plan, d.state, obs())
    assert d.state.phase is Phase.FAILED


def test_rules_down_when_safe_restore_otherwise_refused_after_canary_traffic(
    tmp_path: Path,
) -> None:
    safe = load(tmp_path / "a", "CREATE INDEX i ON users (name);", "DROP INDEX i;")
    risky = load(tmp_path / "b", ADD, DROP)
    allowed = load(tmp_path / "c", ADD, DROP, extra="\n      allow_destructive_rollback: true")
    s = state(migrated=(0,), canary_wrote=True)
    assert rollback_rules(safe, s) == Revert("down")
    assert rollback_rules(risky, state(migrated=(0,))) == Revert("restore")
    assert rollback_rules(allowed, s) == Revert("restore")
    refused = rollback_rules(risky, s)
    assert isinstance(refused, Refused)
    assert "golive migrate rollback r1 --restore" in refused.run


def test_a_rollback_after_the_canary_wrote_pauses_for_a_person(plan: Plan) -> None:
    s = state(step=1, migrated=(0,))
    d = decide(plan, s, obs())
    d = decide(plan, d.state, obs(split=Split(50.0)))
    assert d.state.canary_wrote  # traffic reached the canary after the migration
    cmd = Command(1, CommandVerb.ROLLBACK, by="ann")
    d = decide(plan, d.state, obs(split=Split(50.0), commands=(cmd,)))
    assert d.state.phase is Phase.ROLLING_BACK
    d = decide(plan, d.state, obs())  # traffic is back: the database is refused
    assert d.state.phase is Phase.PAUSED and d.state.pause_kind is PauseKind.MIGRATION
    assert "canary took traffic" in d.state.reason
    assert d.events[0].kind == "migration_rollback_refused"
    assert d.state.end_phase is Phase.ROLLED_BACK
    plain = Command(2, CommandVerb.RESUME, by="ann")
    r = decide(plan, d.state, obs(commands=(plain,)))
    assert r.state.phase is Phase.PAUSED
    assert any(e.kind == "command_refused" for e in r.events)
    chosen = Command(3, CommandVerb.RESUME, by="ann", reason="database: restore")
    r = decide(plan, d.state, obs(commands=(chosen,)))
    assert r.state.phase is Phase.ROLLING_BACK and r.state.migration_revert == "restore"
    r = decide(plan, r.state, obs(migration=DONE))
    r = decide(plan, r.state, obs())
    assert r.state.phase is Phase.ROLLED_BACK


def test_keep_leaves_the_database_and_ends_the_rollback(plan: Plan) -> None:
    s = state(
        phase=Phase.PAUSED,
        pause_kind=PauseKind.MIGRATION,
        migrated=(0,),
        shifted=True,
        canary_wrote=True,
        end_phase=Phase.ROLLED_BACK,
        paused_at=T0,
    )
    keep = Command(1, CommandVerb.RESUME, by="ann", reason="database: keep (schema is additive)")
    d = decide(plan, s, obs(commands=(keep,)))
    d = decide(plan, d.state, obs())
    assert d.state.migrated == () and d.events[0].kind == "migration_kept"
    d = decide(plan, d.state, obs())
    assert d.state.phase is Phase.ROLLED_BACK


def test_an_interrupted_migration_holds_the_rollout(plan: Plan) -> None:
    held = MigrationReport(MigrationStatus.HELD, "0001_change statement 2 (line 3) was running")
    d = decide(plan, state(), obs(migration=held))
    assert d.state.phase is Phase.PAUSED and d.state.pause_kind is PauseKind.MIGRATION
    assert "golive migrate rollback r1 --restore" in d.state.waiting_for
    assert d.state.migrated == (0,)


def test_state_round_trips_with_its_migration_fields() -> None:
    s = state(migrated=(0, 3), canary_wrote=True, migration_revert="down")
    assert RolloutState.from_json(s.to_json()) == s


def test_a_migration_that_failed_before_changing_anything_has_nothing_to_undo(
    plan: Plan,
) -> None:
    early = MigrationReport(MigrationStatus.FAILED, "cannot connect", changed=False)
    d = decide(plan, state(), obs(migration=early))
    assert d.state.migrated == ()
    assert d.state.phase is Phase.FAILED  # no traffic reached the canary, nothing to restore


def test_contract_migrations_run_with_all_traffic_on_the_canary_then_it_is_promoted(
    tmp_path: Path,
) -> None:
    (tmp_path / "contract").mkdir()
    (tmp_path / "contract" / "0002_drop.up.sql").write_text("ALTER TABLE users DROP COLUMN name;")
    after = (
        '  - migrate:\n      database: "sqlite:///app.db"\n      dir: contract\n'
        "      phase: contract\n"
    )
    plan = load(tmp_path, ADD, DROP, after=after)
    s = state(step=2, migrated=(0,), shifted=True, desired=Split(50.0), canary_wrote=True)
    d = decide(plan, s, obs(split=Split(50.0)))
    assert d.state.desired == Split(100.0)
    d = decide(plan, d.state, obs(split=Split(100.0)))
    assert d.state.step == 3 and d.state.phase is Phase.PROGRESSING  # the contract step
    d = decide(plan, d.state, obs(split=Split(100.0), migration=RUNNING))
    assert d.state.migrated == (0,)  # a contract migration is never undone by a rollback
    failed = MigrationReport(MigrationStatus.FAILED, "0002_drop.up.sql:1:1: boom")
    f = decide(plan, d.state, obs(split=Split(100.0), migration=failed))
    assert f.state.phase is Phase.PAUSED and f.state.pause_kind is PauseKind.MIGRATION
    assert f.state.desired == Split(100.0)  # traffic stays on the promoted version
    again = Command(1, CommandVerb.RESUME, by="ann")
    r = decide(plan, f.state, obs(split=Split(100.0), commands=(again,)))
    assert r.state.phase is Phase.PROGRESSING and r.state.step == 3  # runs it again
    d = decide(plan, d.state, obs(split=Split(100.0), migration=DONE))
    assert d.state.step == 4
    d = decide(plan, d.state, obs(split=Split(100.0)))
    assert d.state.phase is Phase.PROMOTED


def test_contract_migrations_wait_for_the_watch_window_then_the_rollout_is_promoted(
    tmp_path: Path,
) -> None:
    """Issue #16: a contract migration runs after promote *and after the watch window*."""
    (tmp_path / "contract").mkdir()
    (tmp_path / "contract" / "0002_drop.up.sql").write_text("ALTER TABLE users DROP COLUMN name;")
    after = (
        '  - migrate:\n      database: "sqlite:///app.db"\n      dir: contract\n'
        "      phase: contract\n"
    )
    path = plan_file(tmp_path, ADD, DROP, after=after)
    path.write_text(path.read_text().replace("  - promote\n", "  - promote: {watch: 1h}\n"))
    plan = load_plan(path)
    s = state(step=2, migrated=(0,), shifted=True, desired=Split(50.0), canary_wrote=True)
    d = decide(plan, s, obs(split=Split(50.0)))
    d = decide(plan, d.state, obs(split=Split(100.0)))
    assert d.state.step == 2 and d.state.watching  # the window opens; the contract step waits
    assert [e.kind for e in d.events] == ["watch_started"]
    d = decide(plan, d.state, obs(T0 + 1800, split=Split(100.0)))
    assert d.state.step == 2 and d.state.watching  # half-way: still watching
    d = decide(plan, d.state, obs(T0 + 3601, split=Split(100.0)))
    assert d.state.step == 3 and not d.state.watching and d.state.phase is Phase.PROGRESSING
    assert d.state.keep_until is not None  # the previous revision is still kept
    d = decide(plan, d.state, obs(T0 + 3602, split=Split(100.0), migration=RUNNING))
    assert d.state.migrated == (0,)
    d = decide(plan, d.state, obs(T0 + 3603, split=Split(100.0), migration=DONE))
    assert d.state.step == 4
    d = decide(plan, d.state, obs(T0 + 3604, split=Split(100.0)))
    assert d.state.phase is Phase.PROMOTED and not d.state.watching
    assert [e.kind for e in d.events] == ["promoted"]
