"""The plan's ``notify`` section: where messages go, which ones, and how often a status goes out.

::

    notify:
      channels:
        chat:  {apprise: env:SLACK_URL}            # any Apprise URL, as a secret reference
        pager: {apprise: env:PAGERDUTY_URL}
        ci:    {webhook: "https://ci.example/hooks/golive", secret: env:CI_WHSEC}
      routes:
        - {events: [incident, rolled_back], severity: critical, to: [pager]}
        - {to: [chat]}                               # every message, info and up
      every: 15m                                     # a status update while it runs

    notify: {to: [env:SLACK_URL], every: 15m}        # shorthand: every message to each URL

The values built here are plain data (:class:`Notify`); the messages are made by
:mod:`golive.notify.messages` and sent by :mod:`golive.notify.worker`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, Field, WithJsonSchema, model_validator

from golive.plan.strict import STRICT, Name
from golive.plan.values import Duration, SecretRef, WebUrl

KINDS = ("started", "status", "incident", "waiting", "succeeded", "rolled_back")
SEVERITIES = ("info", "warning", "critical")
Kind = Literal["started", "status", "incident", "waiting", "succeeded", "rolled_back"]
Severity = Literal["info", "warning", "critical"]


def _reference(value: object) -> object:
    """An Apprise URL carries its service's token: only a reference to it is written."""
    return SecretRef.parse(value)


Reference = Annotated[
    SecretRef,
    BeforeValidator(_reference),
    WithJsonSchema({"type": "string", "pattern": r"^(env|file):.+"}),
]


class ChannelSpec(BaseModel):
    model_config = STRICT
    apprise: Reference | None = None  # env:NAME or file:/path holding an Apprise URL
    webhook: WebUrl | None = None  # an http(s) URL, or a reference to one
    secret: Reference | None = None  # the webhook's signing secret: whsec_<base64>
    rate: Annotated[float, Field(gt=0, le=1000)] = 5.0  # messages per second, at most
    attempts: Annotated[int, Field(ge=1, le=100)] = 8  # then the message is recorded failed
    timeout: Annotated[Duration, Field(gt=0, le=120)] = 10.0  # per request
    backoff: Annotated[Duration, Field(gt=0, le=3600)] = 1.0  # the first retry's delay, doubling

    def build(self, name: str) -> Channel:
        if self.apprise is not None:
            return Channel(name, "apprise", self.apprise, None, self.rate, self.attempts,
                           self.timeout, self.backoff)  # fmt: skip
        return Channel(name, "webhook", self.webhook or "", self.secret, self.rate,
                       self.attempts, self.timeout, self.backoff)  # fmt: skip

    @model_validator(mode="after")
    def _one_kind(self) -> ChannelSpec:
        if (self.apprise is None) == (self.webhook is None):
            raise ValueError("a channel is exactly one of 'apprise: env:NAME' or 'webhook: URL'")
        if self.webhook is not None and self.secret is None:
            raise ValueError("a webhook channel needs 'secret: env:NAME' (whsec_...) to sign")
        if self.apprise is not None and self.secret is not None:
            raise ValueError("'secret' signs a webhook; an Apprise URL carries its own")
        return self


class NotifyRouteSpec(BaseModel):
    model_config = STRICT
    events: Annotated[list[Kind], Field(min_length=1)] = [
        "started", "status", "incident", "waiting", "succeeded", "rolled_back"
    ]  # fmt: skip
    severity: Severity = "info"  # the least severe message this route takes
    to: Annotated[list[Name], Field(min_length=1, max_length=20)]


class NotifySpec(BaseModel):
    model_config = STRICT

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: object) -> object:
        """``{to: [env:A, env:B], every: 15m}``: each reference an Apprise channel (to1,
        to2, ...) that every message goes to."""
        if not isinstance(value, dict) or "to" not in value:
            return value
        if "channels" in value or "routes" in value:
            raise ValueError("give either 'to' (the shorthand) or 'channels' and 'routes'")
        refs = value["to"] if isinstance(value["to"], list) else [value["to"]]
        names = [f"to{i + 1}" for i in range(len(refs))]
        rest = {k: v for k, v in value.items() if k != "to"}
        channels = {n: {"apprise": r} for n, r in zip(names, refs, strict=True)}
        return {**rest, "channels": channels, "routes": [{"to": names}]}

    channels: Annotated[dict[Name, ChannelSpec], Field(min_length=1, max_length=50)]
    routes: Annotated[list[NotifyRouteSpec], Field(min_length=1, max_length=50)]
    every: Duration | None = None  # a status update this often while the rollout runs

    @model_validator(mode="after")
    def _known_channels(self) -> NotifySpec:
        for i, route in enumerate(self.routes):
            for name in route.to:
                if name not in self.channels:
                    known = ", ".join(sorted(self.channels))
                    raise ValueError(
                        f"routes[{i}] sends to {name!r}, which is not a channel (channels: {known})"
                    )
        if self.every is not None and self.every < 1.0:
            raise ValueError("'every' is at least 1s")
        return self

    def build(self) -> Notify:
        channels = {name: c.build(name) for name, c in self.channels.items()}
        routes = tuple(NotifyRoute(tuple(r.events), r.severity, tuple(r.to)) for r in self.routes)
        return Notify(channels, routes, self.every)


@dataclass(frozen=True, slots=True)
class Channel:
    name: str
    kind: Literal["apprise", "webhook"]
    url: SecretRef | str  # apprise: always a reference; webhook: a URL or a reference
    secret: SecretRef | None
    rate: float = 5.0
    attempts: int = 8
    timeout: float = 10.0
    backoff: float = 1.0

    def target(self) -> dict[str, object]:
        """What the outbox keeps to send to this channel: references, never a secret."""
        return {"channel": self.name, "kind": self.kind, "url": str(self.url),
                "secret": None if self.secret is None else str(self.secret),
                "rate": self.rate, "attempts": self.attempts, "timeout": self.timeout,
                "backoff": self.backoff}  # fmt: skip


@dataclass(frozen=True, slots=True)
class NotifyRoute:
    events: tuple[str, ...]
    severity: str
    to: tuple[str, ...]

    def takes(self, kind: str, severity: str) -> bool:
        return kind in self.events and rank(severity) >= rank(self.severity)


def rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else 0


@dataclass(frozen=True, slots=True)
class Notify:
    channels: dict[str, Channel]
    routes: tuple[NotifyRoute, ...]
    every: float | None = None

    def channels_for(self, kind: str, severity: str) -> tuple[Channel, ...]:
        """The channels a message goes to: each once, in the order the routes name them."""
        names: dict[str, None] = {}
        for route in self.routes:
            if route.takes(kind, severity):
                names.update(dict.fromkeys(route.to))
        return tuple(self.channels[n] for n in names)
