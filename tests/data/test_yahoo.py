"""The Yahoo download through the real child process, real yfinance and curl_cffi, against
local sockets that refuse or stall (nothing leaves the machine), and the retry rules.

Durations are measured only to check that a stalled network cannot hold a fetch longer
than its bound: a hang bound is a correctness property, not a speed target."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import TINY_CONFIG, FakeYahoo, make_prices, yahoo_frame
from typer.testing import CliRunner

from rnnforecast.cli.commands import app
from rnnforecast.data.yahoo import (
    ChildCrash,
    ChildDownloader,
    ChildPool,
    DownloadFailure,
    YahooAnswer,
    YahooRequest,
    classify,
    failure_behind_empty_frame,
)
from rnnforecast.data.yahoo_source import YahooSource, fetch_budget
from rnnforecast.errors import SourceError
from rnnforecast.storage.home import Home

PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY")


def closed_port() -> int:
    """A local port nobody listens on: connections to it are refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def stalled_port() -> Iterator[int]:
    """A local server that accepts every connection and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:  # closed at teardown
                return

    threading.Thread(target=accept, daemon=True).start()
    yield int(server.getsockname()[1])
    server.close()
    for connection in held:
        connection.close()


def proxy_env(port: int, user_home: Path) -> dict[str, str]:
    """The environment of a user whose HTTP(S) proxy is ``port`` on this machine."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("no_proxy",)}
    env.pop("XDG_CACHE_HOME", None)
    for name in PROXY_VARIABLES:
        env[name] = f"http://127.0.0.1:{port}"
    env["HOME"] = str(user_home)
    return env


@pytest.fixture
def through_proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """Point this process's proxy variables (inherited by download children) at a port."""

    def use(port: int) -> None:
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        for name in PROXY_VARIABLES:
            monkeypatch.setenv(name, f"http://127.0.0.1:{port}")

    yield use


@pytest.fixture
def downloader() -> Iterator[ChildDownloader]:
    child = ChildDownloader()
    yield child
    child.close()


def python(code: str, *args: str, env: dict[str, str], timeout: float = 240):
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


CLI = (
    "import sys; from rnnforecast.cli.commands import main; sys.argv[0] = 'rnnforecast'; "
    "sys.exit(main())"
)


# --- TensorFlow in the same process (item 1) --------------------------------------------------


def test_fetch_after_tensorflow_is_imported_reports_the_network_error(
    tmp_path: Path, home: Path
) -> None:
    """TensorFlow's libcurl used to break curl_cffi ("Impersonating chrome152 is not
    supported") in the process that had imported it; the download now runs in a child."""
    env = proxy_env(closed_port(), tmp_path / "user")
    code = "import tensorflow; " + CLI
    result = python(code, "--home", str(home), "fetch", "AAPL", "--retries", "0", env=env)
    assert result.returncode == 5, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: AAPL: Yahoo unreachable after 1 attempts (Failed to perform")
    assert "Failed to connect" in last and "over proxy 127.0.0.1" in last
    assert "Impersonat" not in result.stderr
    # yfinance's caches are in the home folder, never in the user's ~/.cache (where
    # TensorFlow's import leaves matplotlib's font cache: not ours to move).
    assert (home / "cache" / "yfinance" / "child-0" / "tkr-tz.db").is_file()
    assert list((tmp_path / "user").rglob("*yfinance*")) == []


@pytest.mark.slow  # trains
def test_run_fetches_every_ticker_before_training_any(
    tmp_path: Path, home: Path, fake_yahoo: FakeYahoo
) -> None:
    """As in the issue's config: a local ticker first, a Yahoo ticker second. When the Yahoo
    download happens, nothing has been trained yet."""
    trained_before_download: list[list[str]] = []

    def answer(symbol: str, start: str | None, end: str | None):
        trained_before_download.append(Home(home).models.runs("AAA"))
        return yahoo_frame(make_prices(220, seed=3), symbol)

    fake_yahoo.answers = [answer]
    make_prices(220, seed=1).to_csv(tmp_path / "aaa.csv")
    config = tmp_path / "nightly.toml"
    config.write_text(
        TINY_CONFIG
        + textwrap.dedent(
            """
            [run]
            refit = false  # one fit a ticker is enough to see the order
            tickers = [{ ticker = "AAA", source = "csv", path = "aaa.csv" }, { ticker = "AAPL" }]
            """
        )
    )
    result = CliRunner().invoke(
        app, ["run", "--config", str(config), "--json"], obj=fake_yahoo.seams
    )
    assert result.exit_code == 0, result.output
    aaa, aapl = json.loads(result.stdout)["tickers"]
    assert aaa["error"] is None and aapl["error"] is None
    assert aaa["promoted"] is True and aapl["promoted"] is True
    assert trained_before_download == [[]]
    assert len(fake_yahoo.calls) == 1
    assert fake_yahoo.calls[0]["cache"] == home / "cache" / "yfinance"


# --- wall-clock bounds (item 2) -------------------------------------------------------------


def test_stalled_server_ends_a_fetch_at_its_timeout(
    stalled_port: int, through_proxy, downloader: ChildDownloader, home: Path
) -> None:
    through_proxy(stalled_port)
    cache = Home(home).yahoo_cache
    downloader.start(cache)  # the child's start-up (importing yfinance) is not network time
    began = time.monotonic()
    with pytest.raises(SourceError) as caught:
        YahooSource(retries=0, timeout=1, downloader=downloader).bars("AAPL", cache=cache)
    elapsed = time.monotonic() - began
    assert str(caught.value) == (
        "AAPL: Yahoo unreachable after 1 attempts (no answer within 1 s (connection "
        "stalled?)); try again later"
    )
    assert 1.0 <= elapsed < 3.0


def test_stalled_server_with_retries_keeps_to_the_budget(
    stalled_port: int, through_proxy, downloader: ChildDownloader, home: Path
) -> None:
    through_proxy(stalled_port)
    cache = Home(home).yahoo_cache
    downloader.start(cache)
    began = time.monotonic()
    with pytest.raises(SourceError, match="after 2 attempts"):
        source = YahooSource(retries=1, timeout=1, backoff=0.5, downloader=downloader)
        source.bars("AAPL", cache=cache)
    elapsed = time.monotonic() - began
    # Two attempts of 1 s and a 0.5 s pause; the second child starts during the pause.
    assert 2.5 <= elapsed < fetch_budget(retries=1, timeout=1, backoff=0.5)


def test_fetch_command_against_a_stalled_server_exits_5_within_its_bound(
    stalled_port: int, tmp_path: Path, home: Path
) -> None:
    env = proxy_env(stalled_port, tmp_path / "user")
    began = time.monotonic()
    result = python(
        CLI, "--home", str(home), "fetch", "AAPL", "--retries", "0", "--timeout", "1", env=env
    )
    elapsed = time.monotonic() - began
    assert result.returncode == 5, result.stderr
    assert result.stderr.strip().splitlines() == [
        "error: AAPL: Yahoo unreachable after 1 attempts (no answer within 1 s (connection "
        "stalled?)); try again later"
    ]
    # Was 71 s. The bound: 1 s + 0.25 s hand-over + at most 10 s to start the download
    # process (about 1.5 s on an idle machine), plus this interpreter's own start.
    assert elapsed < fetch_budget(retries=0, timeout=1) + 5
    assert not (tmp_path / "user" / ".cache").exists()


def test_the_budget_at_the_defaults_is_under_a_minute() -> None:
    # 4 attempts * (10 s + 0.25 s) + backoff 1 + 2 + 4 s + 10 s to start the child.
    assert fetch_budget(retries=3, timeout=10.0) == 58.0
    assert fetch_budget(retries=0, timeout=1.0) == 11.25


# --- what is retried (item 4) -----------------------------------------------------------------


def test_a_programming_error_is_not_retried_nor_called_unreachable(fake_yahoo: FakeYahoo) -> None:
    fake_yahoo.answers = [TypeError("unsupported operand")]
    with pytest.raises(TypeError, match="unsupported operand"):
        fake_yahoo.source().bars("AAPL")
    assert len(fake_yahoo.calls) == 1
    assert fake_yahoo.sleeps == []


@pytest.mark.parametrize("error", [KeyError("chart"), ChildCrash("KeyError in the child")])
def test_fetch_command_reports_a_bug_as_an_internal_error(
    fake_yahoo: FakeYahoo, error: Exception
) -> None:
    fake_yahoo.answers = [error]
    result = CliRunner().invoke(app, ["fetch", "AAPL"], obj=fake_yahoo.seams)
    assert result.exit_code == 1
    assert "internal error" in result.stderr
    assert "Yahoo unreachable" not in result.stderr
    assert len(fake_yahoo.calls) == 1 and fake_yahoo.sleeps == []


def test_a_bug_in_the_child_comes_back_as_a_crash_with_its_traceback(
    downloader: ChildDownloader, home: Path
) -> None:
    request = YahooRequest(None, None, None, True, 5.0, cache=Home(home).yahoo_cache)  # type: ignore[arg-type]
    with pytest.raises(ChildCrash) as caught:
        downloader(request)
    assert str(caught.value).startswith("AttributeError in the download process: ")
    assert "Traceback (most recent call last)" in str(caught.value.__cause__)
    assert "yf.Ticker(request.symbol)" in str(caught.value.__cause__)


def test_a_local_failure_is_not_retried(fake_yahoo: FakeYahoo) -> None:
    fake_yahoo.answers = [DownloadFailure("local", "the download process did not start")]
    with pytest.raises(SourceError, match="cannot download from Yahoo"):
        fake_yahoo.source().bars("AAPL")
    assert len(fake_yahoo.calls) == 1


def test_classify() -> None:
    from curl_cffi.requests.exceptions import ConnectionError as CurlConnectionError
    from curl_cffi.requests.exceptions import ImpersonateError
    from yfinance.exceptions import (
        YFDataException,
        YFPricesMissingError,
        YFRateLimitError,
        YFTzMissingError,
    )

    assert classify(CurlConnectionError("curl: (7) refused")) == "network"
    assert classify(ImpersonateError("Impersonating chrome152 is not supported")) == "local"
    assert classify(TimeoutError()) == "network"
    assert classify(json.JSONDecodeError("Expecting value", "<html>", 0)) == "network"
    assert classify(YFDataException("YAHOO! FINANCE IS CURRENTLY DOWN!")) == "network"
    assert classify(YFRateLimitError()) == "rate_limit"
    assert classify(YFTzMissingError("GONE")) == "missing"
    assert classify(YFPricesMissingError("GONE", "")) == "missing"
    assert classify(DownloadFailure("local", "x")) == "local"
    for bug in (TypeError("x"), KeyError("x"), ValueError("x"), AttributeError("x")):
        assert classify(bug) is None


def test_an_empty_frame_after_a_logged_failure_is_that_failure() -> None:
    failure = failure_behind_empty_frame(
        ["Failed to get ticker 'AAPL' reason: Failed to perform, curl: (7) refused"]
    )
    assert failure is not None and failure.kind == "network"
    assert (
        str(failure) == "Failed to get ticker 'AAPL' reason: Failed to perform, curl: (7) refused"
    )
    failure = failure_behind_empty_frame(["$ZZZZ: possibly delisted; no price data found"])
    assert failure is not None and failure.kind == "missing"
    assert failure_behind_empty_frame([]) is None


# --- the exchange code (item 5) ---------------------------------------------------------------


def test_yahoo_bars_carry_the_exchange_code(fake_yahoo: FakeYahoo) -> None:
    fake_yahoo.answers = [yahoo_frame(make_prices(60))]
    fake_yahoo.exchange = "NMS"
    assert fake_yahoo.source().bars("AAPL").exchange == "NMS"
    fake_yahoo.exchange = None
    assert fake_yahoo.source().bars("AAPL").exchange is None


def test_exchange_code_from_history_metadata() -> None:
    from types import SimpleNamespace

    from rnnforecast.data.yahoo import _exchange

    assert _exchange(SimpleNamespace(history_metadata={"exchangeName": "NMS"})) == "NMS"
    assert _exchange(SimpleNamespace(history_metadata={"exchangeName": ""})) is None
    assert _exchange(SimpleNamespace(history_metadata={})) is None
    assert _exchange(SimpleNamespace()) is None


# --- several downloads at once ---------------------------------------------------------------


class OneAtATime:
    """A fake child: refuses a second download while one is in flight (a ChildDownloader
    is not thread-safe), notes what it downloaded."""

    def __init__(self, gate: threading.Barrier) -> None:
        self.gate, self.busy, self.done = gate, threading.Lock(), []

    def __call__(self, request: YahooRequest) -> YahooAnswer:
        assert self.busy.acquire(blocking=False), "two downloads in one child"
        try:
            self.gate.wait(timeout=5)  # every download of the round is in flight at once
            self.done.append(request.symbol)
            return YahooAnswer(make_prices(5), "NMS")
        finally:
            self.busy.release()


def test_the_pool_gives_each_download_in_flight_a_child_of_its_own() -> None:
    gate = threading.Barrier(3)
    children: list[OneAtATime] = []

    def make() -> OneAtATime:
        children.append(OneAtATime(gate))
        return children[-1]

    pool = ChildPool(make)

    def download(symbol: str) -> None:
        pool(YahooRequest(symbol, None, None, True, 1.0))

    for round_ in range(2):
        threads = [threading.Thread(target=download, args=(f"T{round_}{n}",)) for n in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert pool.started == len(children) == 3  # the second round reused the first's children
    assert sorted(s for child in children for s in child.done) == [
        f"T{r}{n}" for r in range(2) for n in range(3)
    ]
    assert all(len(child.done) == 2 for child in children)


def test_each_child_keeps_its_own_yfinance_cache(tmp_path: Path) -> None:
    """Two downloads at once go to two children, each with its own cache folder (yfinance's
    SQLite caches lock out a second writer); a child keeps its folder for later downloads."""
    gate = threading.Barrier(2)
    seen: list[tuple[int, Path | None]] = []

    class Noting(OneAtATime):
        def __call__(self, request: YahooRequest) -> YahooAnswer:
            seen.append((id(self), request.cache))
            return super().__call__(request)

    pool = ChildPool(lambda: Noting(gate))
    for _ in range(2):
        threads = [
            threading.Thread(target=pool, args=(YahooRequest(s, None, None, True, 1.0, tmp_path),))
            for s in ("AAA", "BBB")
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    folders = {child: {cache for c, cache in seen if c == child} for child, _ in seen}
    assert len(folders) == 2 and all(len(f) == 1 for f in folders.values())
    assert sorted(next(iter(f)) for f in folders.values()) == [
        tmp_path / "child-0",
        tmp_path / "child-1",
    ]


def test_a_locked_yfinance_cache_is_this_machines_trouble_not_a_bug() -> None:
    import sqlite3

    import peewee

    assert classify(sqlite3.OperationalError("database is locked")) == "local"
    assert classify(peewee.OperationalError("database is locked")) == "local"
    assert classify(RuntimeError("database is locked")) is None  # a bug stays a bug


def test_two_threads_download_at_once_in_two_children(
    stalled_port: int, through_proxy, home: Path
) -> None:
    """Real children against a server that never answers: both downloads wait out their
    timeout side by side, each in its own child, and each fails alone."""
    through_proxy(stalled_port)
    pool = ChildPool()
    source = YahooSource(retries=0, timeout=1, downloader=pool)
    failures: dict[str, str] = {}

    def fetch(symbol: str) -> None:
        try:
            source.bars(symbol, cache=Home(home).yahoo_cache)
        except SourceError as exc:
            failures[symbol] = str(exc)

    threads = [threading.Thread(target=fetch, args=(s,)) for s in ("AAA", "BBB")]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        pool.close()
    assert pool.started == 2
    assert sorted(failures) == ["AAA", "BBB"]
    assert all("no answer within 1 s" in text for text in failures.values())
