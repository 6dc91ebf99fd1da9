"""What exchange calendars cost: at fetch time (import, sessions) and at predict time (the
stored sessions read back with sqlite3 instead of importing exchange_calendars).

    python benchmarks/bench_calendars.py [--repeat 200]

Prints medians of wall time (``time.perf_counter``): the import of exchange_calendars in a
fresh process, the first ``calendars.sessions`` call of a fresh process for XNYS from the
sample's first bar (2004-08-19) to two years ahead, and ``prediction.forecast_dates`` (the
two sqlite3 queries predict makes) on a store holding the sample. Absolute times on a
shared machine are noisy: read them as orders of magnitude.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()

    from rnnforecast.data import calendars
    from rnnforecast.data.sources import SampleSource
    from rnnforecast.jobs import ingest, prediction
    from rnnforecast.storage.home import Home

    probe = "import time; t = time.perf_counter(); import exchange_calendars; "
    probe += "print(time.perf_counter() - t)"
    imports = [
        float(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout)
        for _ in range(5)
    ]
    print(
        f"import exchange_calendars (fresh process, median of 5): "
        f"{statistics.median(imports) * 1000:.0f} ms"
    )

    ahead = dt.date.today() + dt.timedelta(days=calendars.SESSIONS_AHEAD_DAYS)
    span = calendars.sessions("XNYS", dt.date(2004, 8, 19), ahead)
    # The first call in a process builds the calendar; exchange_calendars caches it after.
    probe = (
        "import datetime as dt, time; import exchange_calendars; "
        "from rnnforecast.data import calendars; "
        f"end = dt.date.fromisoformat('{ahead}'); t = time.perf_counter(); "
        "calendars.sessions('XNYS', dt.date(2004, 8, 19), end); "
        "print(time.perf_counter() - t)"
    )
    builds = [
        float(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout)
        for _ in range(5)
    ]
    print(
        f"calendars.sessions XNYS 2004-08-19..{ahead} ({len(span.dates)} sessions, first call "
        f"in a fresh process, median of 5): {statistics.median(builds) * 1000:.0f} ms"
    )

    with tempfile.TemporaryDirectory() as folder:
        home = Home(Path(folder))
        ingest.fetch(home, [], SampleSource())
        now = dt.datetime.now(dt.UTC)
        read = median_ms(
            lambda: prediction.forecast_dates(home, "GOOG", dt.date(2013, 3, 1), 5, now),
            args.repeat,
        )
        print(
            f"prediction.forecast_dates, 5 dates + stale count (median of {args.repeat}): "
            f"{read:.2f} ms"
        )


if __name__ == "__main__":
    main()
