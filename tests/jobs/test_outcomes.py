"""The per-ticker outcome of fetch, train and run: a result or one failure record."""

from __future__ import annotations

import errno
import json
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import cli

from rnnforecast.errors import HorizonOutOfRange, LockError, NoModel, NoStoredData
from rnnforecast.jobs.outcomes import Failure, TickerOutcome, failure_code
from rnnforecast.storage import locks


@dataclass(frozen=True)
class Stored:
    ticker: str
    rows: int

    def to_dict(self) -> dict[str, Any]:
        return {"ticker": self.ticker, "rows": self.rows}


def test_a_failure_carries_the_exit_code_and_message_of_our_error_or_an_outside_fault() -> None:
    assert Failure.of(LockError("ticker-AAA is locked")) == Failure(6, "ticker-AAA is locked")
    disk = Failure.of(OSError(errno.ENOSPC, "No space left on device", "/x/store.sqlite"))
    assert disk.to_dict() == {
        "code": 8,
        "message": "cannot read or write /x/store.sqlite: No space left on device",
    }


@pytest.mark.parametrize(
    "error",
    [NoStoredData("AAA"), NoModel("AAA"), HorizonOutOfRange(5, "direct", 5)],
    ids=type,
)
def test_a_failure_keeps_its_error_for_the_hint_also_across_processes(error) -> None:
    """A worker's failure travels by pickle: its error keeps its type, facts and message,
    so that the CLI can still add the command that cures it."""
    failure = pickle.loads(pickle.dumps(Failure.of(error)))
    assert failure == Failure(error.exit_code, str(error))
    assert type(failure.cause) is type(error)
    assert vars(failure.cause) == vars(error)
    assert str(failure.cause) == str(error)


def test_a_bug_is_raised_again_not_made_a_failure() -> None:
    with pytest.raises(KeyError, match="oops"):
        Failure.of(KeyError("oops"))


def test_an_outcome_is_its_result_or_the_ticker_and_its_error() -> None:
    done = TickerOutcome("AAA", Stored("AAA", 60))
    assert not done.failed and done.to_dict() == {"ticker": "AAA", "rows": 60}
    failed = TickerOutcome[Stored]("BBB", error=Failure(3, "no data stored for BBB"))
    assert failed.failed
    assert failed.to_dict() == {
        "ticker": "BBB",
        "error": {"code": 3, "message": "no data stored for BBB"},
    }
    partly = TickerOutcome("CCC", Stored("CCC", 5), Failure(7, "later"))
    assert partly.to_dict() == {
        "ticker": "CCC",
        "rows": 5,
        "error": {"code": 7, "message": "later"},
    }


def test_an_outcome_without_result_or_error_is_refused() -> None:
    with pytest.raises(ValueError, match="an outcome of AAA needs a result or an error"):
        TickerOutcome("AAA")


def test_train_of_several_tickers_reports_each_failure_once_with_the_homes_wait(
    tmp_path: Path,
) -> None:
    """--wait reaches the job through the home; each failed ticker is one stderr line and
    one ``{"ticker", "error"}`` entry; the failures differ (lock, no data): exit 7."""
    home = tmp_path / "home"
    with locks.hold(home / "locks", "ticker-AAA", 0):
        result = cli("--wait", "0", "train", "AAA", "BBB", "--json", home=home)
    assert result.exit_code == 7
    aaa, bbb = json.loads(result.stdout)["tickers"]
    assert aaa["ticker"] == "AAA" and aaa["error"]["code"] == 6
    assert "ticker-AAA is locked by another rnnforecast process" in aaa["error"]["message"]
    assert "(waited 0 s;" in aaa["error"]["message"]
    assert bbb == {
        "ticker": "BBB",
        "error": {
            "code": 3,
            "message": "no data stored for BBB: run `rnnforecast fetch BBB` first",
        },
    }
    lines = result.stderr.strip().splitlines()
    assert lines[0] == f"AAA: failed (exit code 6): {aaa['error']['message']}"
    assert lines[1:] == [
        "BBB: failed (exit code 3): no data stored for BBB: run `rnnforecast fetch BBB` first",
        "error: 2 of 2 tickers failed: AAA, BBB",
    ]


def test_the_failure_code_is_the_shared_one_or_7_when_mixed() -> None:
    """cron retries on 5 and 6: a night whose failures are all the source's says 5."""
    done = TickerOutcome[Stored]("AAA", Stored("AAA", 60))
    source = TickerOutcome[Stored]("BBB", error=Failure(5, "down"))
    lock = TickerOutcome[Stored]("CCC", error=Failure(6, "locked"))
    assert failure_code([done]) is None
    assert failure_code([done, source]) == 5
    assert failure_code([source, done, source]) == 5
    assert failure_code([lock, done]) == 6
    assert failure_code([source, lock, done]) == 7
