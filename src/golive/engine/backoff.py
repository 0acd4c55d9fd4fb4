"""What the engine does with a failed action: the error's kind decides, not only its message.

As kopf's ``TemporaryError``/``PermanentError``: a :class:`~golive.errors.TransientError` (or a
call that timed out) is tried again after an exponentially growing, jittered delay, a bounded
number of times and never past a time budget, so the controller renews its lease (30s at least)
in time; a :class:`~golive.errors.PermanentError` is never retried, since it will not go away
by itself: the runner fails the step with its reason and the plan rolls back.

The delays are slept on the engine's clock, so tests run them on a fake one without waiting.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from golive.core.state import Event
from golive.engine.clock import Clock
from golive.errors import PermanentError, ProviderError, TransientError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Backoff:
    """At most ``tries`` calls, ``base * 2**n`` seconds apart (at most ``cap``), each delay
    jittered down to half of itself (calls retried by many controllers do not beat in step),
    and no delay that would end past ``budget`` seconds after the first call."""

    tries: int = 4
    base: float = 0.5
    cap: float = 4.0
    budget: float = 10.0

    def delays(self, rng: random.Random) -> Iterator[float]:
        for n in range(self.tries - 1):
            yield min(self.cap, self.base * 2**n) * rng.uniform(0.5, 1.0)


class Exhausted(TransientError):
    """A transient failure that outlasted its retries; its message says how many tries."""

    def __init__(self, last: str, tries: int) -> None:
        self.tries = tries
        super().__init__(f"{last} ({tries} tries)" if tries > 1 else last)


async def retry(
    call: Callable[[], Awaitable[T]],
    clock: Clock,
    policy: Backoff,
    rng: random.Random,
) -> tuple[T, list[str]]:
    """``call()``'s result once it succeeds, and the transient errors met on the way (empty
    when the first call did). A PermanentError is raised at once; a transient one that is
    still there when the tries or the budget are spent is raised as :class:`Exhausted`."""
    start, errors, delays = clock.now(), list[str](), policy.delays(rng)
    while True:
        try:
            return await call(), errors
        except PermanentError:
            raise
        except (ProviderError, TimeoutError) as exc:
            errors.append(str(exc) or "timed out")
            delay = next(delays, None)
            if delay is None or clock.now() + delay - start > policy.budget:
                raise Exhausted(errors[-1], len(errors)) from exc
        await clock.sleep(delay)


class Episodes:
    """The events of actions' failures: the first failure of an action is recorded (with how
    many tries it took), its next ones are not until it succeeds again, and a success that
    took retries is one event. A flapping proxy writes a line, not a page."""

    def __init__(self) -> None:
        self._failing: set[object] = set()  # actions (frozen values) failing since recorded

    def failed(self, action: object, exc: ProviderError) -> list[Event]:
        if action in self._failing:
            return []
        self._failing.add(action)
        permanent = isinstance(exc, PermanentError)
        what = f"{type(action).__name__}: {exc}"
        return [Event("action_failed", what, {"permanent": permanent})]

    def succeeded(self, action: object, errors: list[str]) -> list[Event]:
        self._failing.discard(action)
        if not errors:
            return []
        tries = len(errors) + 1
        what = f"{type(action).__name__}: done at try {tries} (first failure: {errors[0]})"
        return [Event("action_retried", what, {"tries": tries, "errors": errors})]
