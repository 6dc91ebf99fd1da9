"""How fast a job may ask a source for bars: at most ``concurrency`` requests at once and at
most ``per_second`` started in any second, shared by every thread of one job.

:class:`RateLimit` is the setting (a ``[run.fetch]`` table, the fetch command's options);
:class:`Throttle` enforces it for one job. The waits run on a :class:`WaitClock`, the clock
Yahoo's retries wait on too, so that tests replace both with one fake. Imports nothing
heavy: the config reads :class:`RateLimit`.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from rnnforecast.errors import UsageError

MAX_CONCURRENCY = 32
"""More requests at once than this only gets an address blocked (and each Yahoo download
holds a child process of its own, ~100 MB)."""
MAX_PER_SECOND = 100.0


class WaitClock(Protocol):
    """What a wait runs on: a monotonic time in seconds, and a sleep."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real :func:`time.monotonic` and :func:`time.sleep`."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass(frozen=True)
class RateLimit:
    """At most ``concurrency`` requests for bars at once, at most ``per_second`` started in
    any second (a request is one call to a source for one ticker's bars; a Yahoo call's
    retries happen inside it, on its slot).

    The defaults are for Yahoo, which publishes no limit and answers a burst with "Too Many
    Requests" (and may refuse the address for a while). 4 at once is what yfinance's own
    ``download()`` uses on a 2-core machine (2 threads a core, with no spacing at all); 2
    started a second caps a burst of quick answers, and 4 in flight keep that pace while an
    answer takes up to 2 s (more would only queue behind the per-second limit). A night of
    500 tickers then takes about 4 minutes (one at a time, if an answer takes ~1.5 s, 12).
    A rate-limited request is retried with backoff (YahooSource), holding its slot.
    """

    concurrency: int = 4
    per_second: float = 2.0

    def check(self, where: str = "") -> RateLimit:
        """Self, or UsageError naming the bad value (as a key of the table ``where``)."""
        prefix = f"{where}." if where else ""
        if isinstance(self.concurrency, bool) or not 1 <= self.concurrency <= MAX_CONCURRENCY:
            raise UsageError(
                f"{prefix}concurrency must be between 1 and {MAX_CONCURRENCY}, "
                f"got {self.concurrency}"
            )
        if not (math.isfinite(self.per_second) and 0 < self.per_second <= MAX_PER_SECOND):
            raise UsageError(
                f"{prefix}per_second must be above 0 and at most {MAX_PER_SECOND:g}, "
                f"got {self.per_second}"
            )
        return self


@dataclass(eq=False)  # each is its own job's: two are never the same
class Throttle:
    """:class:`RateLimit` ``limit`` enforced on the threads that share this object (one job).

    Starts are spaced ``1 / per_second`` apart, which keeps any one-second span to
    ``per_second`` starts: a request takes a slot (waiting while ``concurrency`` are out),
    books the first free start time, sleeps until then on ``clock`` and goes. Thread-safe.
    """

    limit: RateLimit = field(default_factory=RateLimit)
    clock: WaitClock = field(default_factory=SystemClock)

    def __post_init__(self) -> None:
        self.limit.check()
        self._slots = threading.BoundedSemaphore(self.limit.concurrency)
        self._booking = threading.Lock()
        self._next = -math.inf  # the earliest the next request may start

    @contextmanager
    def request(self) -> Iterator[None]:
        """Hold one request's slot for the ``with`` block, which begins no sooner than the
        per-second limit allows."""
        with self._slots:
            with self._booking:
                now = self.clock.monotonic()
                start = max(now, self._next)
                self._next = start + 1.0 / self.limit.per_second
            if start > now:
                self.clock.sleep(start - now)
            yield
