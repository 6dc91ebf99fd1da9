"""The rate limit of a fetch: requests spaced to the per-second limit on a fake clock, no
more in flight than the limit, settings checked."""

from __future__ import annotations

import threading
import time

import pytest
from conftest import FakeClock

from rnnforecast.data.throttle import RateLimit, Throttle
from rnnforecast.errors import UsageError


def test_requests_start_a_per_second_limit_apart_and_no_sooner() -> None:
    clock = FakeClock()
    throttle = Throttle(RateLimit(concurrency=4, per_second=2), clock)
    starts = []
    for _ in range(4):
        with throttle.request():
            starts.append(clock.monotonic())
    assert starts == [1000.0, 1000.5, 1001.0, 1001.5]
    assert clock.sleeps == [0.5, 0.5, 0.5]
    clock.sleep(10)  # a quiet spell: the next request goes at once
    with throttle.request():
        assert clock.monotonic() == 1011.5
    assert clock.sleeps[-1] == 10


def test_no_more_requests_are_in_flight_than_the_limit() -> None:
    throttle = Throttle(RateLimit(concurrency=2, per_second=100), FakeClock())
    inside, peak, lock = [0], [0], threading.Lock()
    go = threading.Event()

    def request() -> None:
        with throttle.request():
            with lock:
                inside[0] += 1
                peak[0] = max(peak[0], inside[0])
            go.wait(timeout=5)
            with lock:
                inside[0] -= 1

    threads = [threading.Thread(target=request) for _ in range(5)]
    for thread in threads:
        thread.start()
    while True:  # two are in, the three others wait for a slot
        with lock:
            if inside[0] == 2:
                break
        time.sleep(0.001)
    time.sleep(0.02)  # time enough for a third to get in, if it could
    go.set()
    for thread in threads:
        thread.join()
    assert peak[0] == 2 and inside[0] == 0


@pytest.mark.parametrize(
    ("limit", "message"),
    [
        (RateLimit(concurrency=0), "concurrency must be between 1 and 32, got 0"),
        (RateLimit(concurrency=33), "concurrency must be between 1 and 32, got 33"),
        (RateLimit(per_second=0), "per_second must be above 0 and at most 100, got 0"),
        (RateLimit(per_second=float("inf")), "per_second must be above 0 and at most 100"),
    ],
)
def test_a_bad_limit_is_refused(limit: RateLimit, message: str) -> None:
    with pytest.raises(UsageError, match=f"^{message}"):
        Throttle(limit)
    with pytest.raises(UsageError, match=f"^run.fetch.{message}"):
        limit.check("run.fetch")
