"""The registry of a provider family, and what a kind of each family declares.

golive's judges and check kinds are each found in one table; routers, metric sources and
deployers are too (:mod:`golive.plan.kinds` registers golive's own). A kind declares, once:
its name (what the plan writes), what the plan may say for it and the rules that go with it,
what it can do (the capabilities the plan rules, the engine and the CLI ask about instead of
comparing names), and its factories.

Factories are named, not imported: ``"golive.traffic.envoy:EnvoyRouter.from_plan"``, loaded by
:func:`load` only when a rollout builds its providers (as a package's entry points are). The
plan is the pure core and imports no provider; the providers import the plan's model. So a
router is its own module plus one registration, and the plan still knows every router by name.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from golive.errors import PlanIssue
from golive.plan.yamlsource import Path as SpecPath

if TYPE_CHECKING:  # the schema is built from the step registry, which reads Issue from here
    from golive.plan import spec as s
    from golive.plan.model import AttachedProxy

    PlanRules = Callable[[s.PlanSpec, "Issue"], Iterator[PlanIssue]]

Issue = Callable[[SpecPath, str], PlanIssue]  # a problem at a field's position in the file


@dataclass(frozen=True, slots=True)
class AttachKind:
    """How a router attaches to a proxy golive did not start: the ``attach`` fields it takes,
    the plan's value built from one entry (the rules have checked the required ones), and the
    rules one entry must meet beyond its fields."""

    required: tuple[str, ...]
    optional: tuple[str, ...]
    build: Callable[[s.AttachSpec], AttachedProxy]
    rules: Callable[[s.PlanSpec, SpecPath, s.AttachSpec, Issue], Iterator[PlanIssue]]


@dataclass(frozen=True, slots=True)
class Launch:
    """How golive runs a proxy of this kind: the flag and the file name of its configuration,
    by which ``golive run`` recognises one already listening (``traffic/listen.py``), and the
    sockets it leaves behind in its directory for ``golive down`` to remove."""

    flag: str
    config: str
    leaves: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RouterKind:
    """A router. ``router`` builds one proxy of the route, ``(plan, state_dir, index) ->``
    :class:`golive.traffic.base.Proxy`; ``stats`` builds that proxy's own statistics,
    ``(plan, state_dir, index) ->`` a metric source (``metrics: {source: router}``)."""

    name: str
    label: str  # how messages name it: "HAProxy"
    router: str
    stats: str
    launch: Launch | None = None  # golive runs it on route.listen (None: it only attaches)
    attach: AttachKind | None = None  # it can drive a proxy golive did not start
    latency: Callable[[s.PlanSpec], str | None] = lambda spec: None  # why its stats have none
    latency_remedy: str = ""  # how the plan gives them latency then
    default_queries: bool = False  # the default Prometheus queries read its statistics


@dataclass(frozen=True, slots=True)
class SourceKind:
    """A metric source. ``factory`` builds it, ``(plan) ->`` a metric source; None for the
    router's own statistics (:attr:`RouterKind.stats`). ``lag`` is how many seconds its
    counters may trail the split read back from the router (0: one scrape interval)."""

    name: str
    factory: str | None = None
    url_example: str | None = None  # it needs ``metrics.url``, like this one
    lag: float = 0.0
    rules: PlanRules | None = None

    @property
    def router_stats(self) -> bool:
        return self.factory is None


@dataclass(frozen=True, slots=True)
class DeployerKind:
    """A deployer. ``factory`` builds it, ``(plan, service_dir, rollout) ->`` a deployer."""

    name: str
    factory: str


K = TypeVar("K", RouterKind, SourceKind, DeployerKind)


class Registry(Generic[K]):
    """The kinds of one family, in the order they were registered (the order messages list)."""

    def __init__(self, family: str) -> None:
        self.family = family
        self._kinds: dict[str, K] = {}

    def register(self, kind: K) -> K:
        if kind.name in self._kinds:
            raise ValueError(f"{self.family} {kind.name!r} is registered twice")
        self._kinds[kind.name] = kind
        return kind

    def names(self) -> tuple[str, ...]:
        return tuple(self._kinds)

    def kinds(self) -> tuple[K, ...]:
        return tuple(self._kinds.values())

    def find(self, name: str) -> K | None:
        return self._kinds.get(name)

    def get(self, name: str) -> K:
        """The kind ``name``; an unknown one is a ValueError that lists the known ones (the plan
        rules report it first, with its position)."""
        kind = self._kinds.get(name)
        if kind is None:
            raise ValueError(self.unknown(name))
        return kind

    def unknown(self, name: str) -> str:
        return f"unknown {self.family} {name!r}; known: {', '.join(self._kinds)}"


def load(ref: str) -> object:
    """The object a factory reference names: ``"package.module:Class.attribute"``."""
    module, _, attribute = ref.partition(":")
    found: object = importlib.import_module(module)
    for part in attribute.split("."):
        found = getattr(found, part)
    return found
