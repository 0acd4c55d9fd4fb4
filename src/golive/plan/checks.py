"""What each kind of check is told by the plan: one frozen dataclass per kind.

The same classes validate the plan (pydantic reads their annotations, unknown keys are errors)
and are what the check modules receive, so a kind's options are written down once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, ClassVar

from pydantic import ConfigDict, Field

from golive import redaction
from golive.plan.values import Connection, Duration, EnvValue, Percent, SecretRef, WebUrl

Scalar = str | int | float | bool | None
Argv = Annotated[tuple[str, ...], Field(min_length=1)]
Condition = Annotated[str, Field(pattern=r"^\s*(<=|>=|==|!=|<|>)\s*-?\d+(\.\d+)?\s*$")]
_STRICT = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Http:
    """GET ``url``: status, optional body text, JSON values by path, a latency budget (slower
    is a warning), and response headers that must be present (security headers)."""

    __pydantic_config__: ClassVar[ConfigDict] = _STRICT
    url: WebUrl
    status: Annotated[int, Field(ge=100, le=599)] = 200
    body_contains: str | None = None
    json: dict[str, Scalar] = field(default_factory=dict)
    max_latency: Duration | None = None
    headers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Tcp:
    __pydantic_config__: ClassVar[ConfigDict] = _STRICT
    host: str
    port: Annotated[int, Field(ge=1, le=65535)]


@dataclass(frozen=True)
class Postgres:
    """Connect, run ``query`` (its first value must equal ``expect`` when given), and on a
    replica, replay lag below ``max_replication_lag``."""

    __pydantic_config__: ClassVar[ConfigDict] = _STRICT
    dsn: Connection
    query: str = "SELECT 1"
    expect: Scalar = None
    max_replication_lag: Duration | None = None


@dataclass(frozen=True)
class Redis:
    """PING, then INFO fields: ``{role: master, connected_clients: "< 500"}``."""

    __pydantic_config__: ClassVar[ConfigDict] = _STRICT
    url: Connection = "redis://127.0.0.1:6379"
    info: dict[str, Scalar] = field(default_factory=dict)


@dataclass(frozen=True)
class Amqp:
    """Connect (AMQP 0-9-1) and, when ``queue`` is given, check it exists (passive declare)."""

    __pydantic_config__: ClassVar[ConfigDict] = _STRICT
    url: Connection = "amqp://127.0.0.1:5672/"
    queue: str | None = None


@dataclass(frozen=True)
class Tls:
    """Handshake with ``host:port``: chain and hostname verified, days left before expiry."""

    __pydantic_config__: ClassVar[ConfigDict] = _STRICT
    host: Annotated[str, Field(pattern=r"^[^:\s]+:\d{1,5}$")]
    hostname: str | None = None
    min_days: Annotated[int, Field(ge=0)] = 7
    warn_days: Annotated[int, Field(ge=0)] = 30
    ca_file: str | None = None


@dataclass(frozen=True)
class Dns:
    __pydantic_config__: ClassVar[ConfigDict] = _STRICT
    name: str
    expect: tuple[str, ...] = ()


@dataclass(frozen=True)
class File:
    """``path`` (a glob) matches a file; its newest match is younger than ``max_age``."""

    __pydantic_config__: ClassVar[ConfigDict] = _STRICT
    path: str
    max_age: Duration | None = None
    min_size: Annotated[int, Field(ge=0)] = 0


@dataclass(frozen=True)
class Disk:
    __pydantic_config__: ClassVar[ConfigDict] = _STRICT
    path: str = "/"
    max_used: Percent = 0.9
    warn_used: Percent | None = 0.8


@dataclass(frozen=True)
class Memory:
    __pydantic_config__: ClassVar[ConfigDict] = _STRICT
    max_used: Percent = 0.9
    warn_used: Percent | None = 0.8


@dataclass(frozen=True)
class Cpu:
    """The 1-minute load average per core."""

    __pydantic_config__: ClassVar[ConfigDict] = _STRICT
    max_load: Annotated[float, Field(gt=0)] = 2.0
    warn_load: Annotated[float, Field(gt=0)] | None = 1.0


@dataclass(frozen=True)
class Git:
    __pydantic_config__: ClassVar[ConfigDict] = _STRICT
    path: str = "."
    clean: bool = True
    branch: str | None = None
    tag: str | None = None


@dataclass(frozen=True)
class Command:
    """Run ``argv`` (never through a shell): exit status, and text its output must contain.
    The command sees only ``env`` and golive's minimal environment (:mod:`golive.childenv`)."""

    __pydantic_config__: ClassVar[ConfigDict] = _STRICT
    argv: Argv
    exit: int = 0
    contains: str | None = None
    cwd: str | None = None
    max_output: Annotated[int, Field(ge=1, le=1_048_576)] = 65_536
    env: dict[str, EnvValue] = field(default_factory=dict)


@dataclass(frozen=True)
class Prometheus:
    """An instant query whose value must meet ``condition`` (``"< 0.01"``)."""

    __pydantic_config__: ClassVar[ConfigDict] = _STRICT
    url: WebUrl
    query: str
    condition: Condition


@dataclass(frozen=True)
class Secrets:
    """No secret in the files under ``path`` (detect-secrets); files git ignores are skipped."""

    __pydantic_config__: ClassVar[ConfigDict] = _STRICT
    path: str = "."
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class Docs:
    __pydantic_config__: ClassVar[ConfigDict] = _STRICT
    path: str = "."
    files: Annotated[tuple[str, ...], Field(min_length=1)] = ("README.md",)


Options = (
    Http
    | Tcp
    | Postgres
    | Redis
    | Amqp
    | Tls
    | Dns
    | File
    | Disk
    | Memory
    | Cpu
    | Git
    | Command
    | Prometheus
    | Secrets
    | Docs
)
KINDS: dict[str, type[Options]] = {
    "http": Http, "tcp": Tcp, "postgres": Postgres, "redis": Redis, "amqp": Amqp, "tls": Tls,
    "dns": Dns, "file": File, "disk": Disk, "memory": Memory, "cpu": Cpu, "git": Git,
    "command": Command, "prometheus": Prometheus, "secrets": Secrets, "docs": Docs,
}  # fmt: skip
DEFAULT_CATEGORY = {
    "tls": "security", "prometheus": "performance",
    "secrets": "security",  # pragma: allowlist secret
    "git": "code quality", "docs": "code quality", "command": "operations", "file": "operations",
}  # fmt: skip


DEFAULT_TIMEOUT = {"secrets": 300.0, "command": 60.0}  # seconds; every other kind: 10


@dataclass(frozen=True)
class Check:
    """One check of the plan, with what the scorecard needs to weigh it."""

    name: str
    kind: str
    options: Options
    category: str = "infrastructure"
    weight: float = 1.0
    critical: bool = False
    timeout: float = 10.0
    retries: int = 1


@dataclass(frozen=True)
class ChecklistItem:
    """A manual item a person confirms (``golive confirm ID ITEM --as ROLE``)."""

    id: str
    text: str
    role: str | None = None
    category: str = "operations"
    weight: float = 1.0
    critical: bool = False


def describe_connection(value: SecretRef | str, resolved: str | None = None) -> str:
    """A connection for messages: where it leads (``scheme://host:port/path``, never userinfo
    or query) and, for a reference, which one (``env:DATABASE_URL``)."""
    if isinstance(value, str):
        return redaction.describe_target(value) or value
    shown = redaction.describe_target(resolved) if resolved is not None else ""
    return f"{shown} ({value})" if shown else str(value)


def secret_refs(options: Options) -> list[SecretRef]:
    """The secret references a check's options hold (read when the check runs)."""
    found: list[SecretRef] = []
    for name in options.__dataclass_fields__:
        value = getattr(options, name)
        values = value.values() if isinstance(value, dict) else [value]
        found += [v for v in values if isinstance(v, SecretRef)]
    return found
