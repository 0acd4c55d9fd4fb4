"""The ``migrate`` step: its spec, its rules among the plan's steps, and its SQL files read and
linted when the plan is loaded (a destructive statement before full promotion is a plan error
naming the step's position, the SQL file and its line).

The step's value: ``migrate: {database: env:DB_URL, dir: migrations/, verify: [...]}``; see
docs/migrations.md.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path as FsPath
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from golive.errors import PlanIssue
from golive.migrate.files import MigrationFileError, discover
from golive.migrate.lint import Safety, lint, worst
from golive.plan import model as m
from golive.plan.checks import Argv, Condition, Scalar
from golive.plan.registry import Issue
from golive.plan.strict import STRICT, Name
from golive.plan.values import Connection, Duration, SecretRef, WebUrl

if TYPE_CHECKING:
    from golive.plan.spec import PlanSpec
    from golive.plan.yamlsource import Located


class AssertionSpec(BaseModel):
    model_config = STRICT
    sql: Annotated[str, Field(min_length=1)]
    expect: Condition | Scalar = None


class HookSpec(BaseModel):
    model_config = STRICT
    command: Argv | None = None
    url: WebUrl | None = None

    @model_validator(mode="after")
    def _one(self) -> HookSpec:
        if (self.command is None) == (self.url is None):
            raise ValueError("a hook is exactly one of 'command' (argv) or 'url' (POSTed)")
        return self


class ReadOnlySpec(BaseModel):
    model_config = STRICT
    enter: HookSpec | None = None
    leave: HookSpec | None = None


class MigrateSpec(BaseModel):
    model_config = STRICT
    name: Name = "database"
    database: Connection
    engine: Literal["postgres", "sqlite"] | None = None
    dir: str | None = None
    alembic: Argv | None = None
    phase: Literal["expand", "contract"] = "expand"
    verify: list[AssertionSpec] = Field(default_factory=list)
    read_only: ReadOnlySpec | None = None
    statement_timeout: Duration = 60.0
    lock_timeout: Duration = 5.0
    timeout: Duration = 1800.0
    scratch_restore: bool = False
    allow_destructive_rollback: bool = False

    @model_validator(mode="after")
    def _source(self) -> MigrateSpec:
        if (self.dir is None) == (self.alembic is None):
            raise ValueError("a migration has exactly one of 'dir' (SQL files) or 'alembic'")
        if self.engine is None and engine_of(self.database) is None:
            raise ValueError("say 'engine: postgres' or 'engine: sqlite' for this database")
        return self


def engine_of(database: SecretRef | str) -> str | None:
    if isinstance(database, SecretRef):
        return None
    if database.startswith(("postgres://", "postgresql://")):
        return "postgres"
    if database.startswith("sqlite:"):
        return "sqlite"
    return None


def _hook(spec: HookSpec | None) -> m.Hook | None:
    if spec is None:
        return None
    return m.Hook(tuple(spec.command or ()), spec.url)


def build(spec: MigrateSpec) -> m.Step:
    ro = spec.read_only or ReadOnlySpec()
    engine = spec.engine or engine_of(spec.database)
    assert engine is not None
    return m.MigrateStep(
        name=spec.name,
        database=spec.database,
        engine=engine,
        directory=spec.dir or "",
        alembic=tuple(spec.alembic or ()),
        phase=spec.phase,
        verify=tuple(m.Assertion(a.sql, a.expect) for a in spec.verify),
        enter_read_only=_hook(ro.enter),
        leave_read_only=_hook(ro.leave),
        statement_timeout=spec.statement_timeout,
        lock_timeout=spec.lock_timeout,
        timeout=spec.timeout,
        scratch_restore=spec.scratch_restore,
        allow_destructive_rollback=spec.allow_destructive_rollback,
    )


def rules(spec: PlanSpec, i: int, value: MigrateSpec, issue: Issue) -> Iterator[PlanIssue]:
    promote_at = next((j for j, s in enumerate(spec.steps) if s.get("promote") is not None), None)
    after_promote = promote_at is not None and i > promote_at
    if value.phase == "contract" and not after_promote:
        yield issue(
            ("steps", i, "migrate", "phase"),
            "a contract migration runs after promotion: put it after '- promote'",
        )
    if value.phase == "expand" and after_promote:
        yield issue(
            ("steps", i, "migrate", "phase"),
            "only a 'phase: contract' migration may come after '- promote'",
        )


# -- the SQL files, read and linted at load ------------------------------------------------


def resolve(
    spec: PlanSpec, steps: tuple[m.Step, ...], located: Located, filename: str
) -> tuple[tuple[m.Step, ...], list[PlanIssue]]:
    """The steps with each migration's directory made absolute (beside the plan file) and its
    down files judged; the issues found in its files."""
    base = FsPath(filename).parent if FsPath(filename).is_file() else FsPath.cwd()
    out: list[m.Step] = []
    issues: list[PlanIssue] = []
    for i, step in enumerate(steps):
        if not isinstance(step, m.MigrateStep) or not step.directory:
            out.append(step)
            continue
        line, col = located.position(("steps", i, "migrate", "dir"))
        where = f"steps[{i}].migrate.dir"
        directory = (base / step.directory).resolve()
        try:
            found = discover(directory)
        except MigrationFileError as exc:
            issues.append(PlanIssue(filename, line, col, where, str(exc)))
            out.append(step)
            continue
        dialect: Any = step.engine
        downs_safe = bool(found)
        for mig in found:
            findings = lint(mig, dialect)
            for f in findings:
                if f.safety is Safety.DESTRUCTIVE and step.phase == "expand":
                    at = f"{mig.up}:{f.statement.line}:{f.statement.column}"
                    issues.append(
                        PlanIssue(
                            filename,
                            line,
                            col,
                            where,
                            f"{at}: destructive before full promotion ({f.reason}); the "
                            "running stable revision would break. Split it: expand now, "
                            "contract in a 'phase: contract' migration after promote",
                        )
                    )
            if mig.down is None or worst(lint(mig, dialect, down=True)) is Safety.DESTRUCTIVE:
                downs_safe = False
        out.append(dataclasses.replace(step, directory=str(directory), downs_safe=downs_safe))
    return tuple(out), issues
