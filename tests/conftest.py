"""Shared fixtures: an isolated home folder for every test, synthetic prices, a fake yfinance
call, a tiny config. Nothing here touches the network."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from rnnforecast.cli.commands import app
from rnnforecast.cli.options import Seams
from rnnforecast.config import DataConfig
from rnnforecast.data.bars import Bars
from rnnforecast.data.store import Store
from rnnforecast.data.yahoo import YahooAnswer, YahooRequest
from rnnforecast.data.yahoo_source import YahooSource
from rnnforecast.storage.home import Home

# Property tests draw new examples on every run on a developer's machine; under CI
# (CI=true) the same examples each run, so a submission's CI cannot fail by chance. (The
# dependency-floor run installs no hypothesis and runs no property test.)
if os.environ.get("CI") and importlib.util.find_spec("hypothesis") is not None:
    from hypothesis import settings as hypothesis_settings

    hypothesis_settings.register_profile("ci", derandomize=True, database=None)
    hypothesis_settings.load_profile("ci")

REPO = Path(__file__).resolve().parent.parent
"""The checkout's root: tests live one or two folders below it (tests/<package>/ mirrors
rnnforecast/<package>/), so they find the repository's files from here, not from their own."""
FIXTURES = REPO / "tests" / "fixtures"
"""Files tests read: reference values, sample exports."""

TINY_CONFIG = """\
[data]
window = 10
test_fraction = 0.2
val_fraction = 0.2

[model]
units = 4
dense_units = 4

[train]
epochs = 2
batch_size = 16
patience = 1
seed = 7

[calibration]
# the network's own intervals, whose arithmetic these tests check (and no GARCH fits in every
# training test); the default "auto" is tested in tests/risk/test_served_intervals.py
intervals = "model"
"""


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own home folder through RNNFORECAST_HOME; no debug tracebacks."""
    folder = tmp_path / "home"
    monkeypatch.setenv("RNNFORECAST_HOME", str(folder))
    monkeypatch.delenv("RNNFORECAST_DEBUG", raising=False)
    return folder


def make_prices(n: int = 300, seed: int = 0, start: str = "2020-01-01") -> pd.DataFrame:
    """A geometric random walk of daily bars on weekdays, columns as a CSV would have them
    (Open, High, Low, Close, Volume), index named Date."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0.0005, 0.015, n)))
    open_ = close * np.exp(rng.normal(0, 0.005, n))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, n))
    volume = rng.integers(1_000_000, 5_000_000, n).astype(float)
    index = pd.bdate_range(start, periods=n, name="Date")
    return pd.DataFrame(
        {"Open": open_, "High": high, "Low": low, "Close": close, "Volume": volume}, index=index
    )


def recipe(**changes: object) -> DataConfig:
    """A DataConfig on the original recipe's terms (close levels, global scaling) unless
    ``changes`` say otherwise: the layer's arithmetic is easiest to check there."""
    return DataConfig(**{"target": "close", "normalise": "global", **changes})  # type: ignore[arg-type]


def canonical(
    prices: pd.DataFrame | int = 300, seed: int = 0, start: str = "2020-01-01"
) -> pd.DataFrame:
    """Bars as every source returns them (lower-case float64 columns, a DatetimeIndex named
    date): ``prices`` shaped like :func:`make_prices`' output, or a row count for
    ``make_prices(prices, seed, start)``."""
    frame = make_prices(prices, seed, start) if isinstance(prices, int) else prices.copy()
    frame.columns = [c.lower() for c in frame.columns]
    frame.index = pd.DatetimeIndex(frame.index, name="date")
    return frame.astype(np.float64)


def random_walk(n: int = 200, sigma: float = 0.01, seed: int = 3) -> pd.DataFrame:
    """``n`` bars (canonical columns, weekdays from 2000-01-03) whose log closes are a
    Gaussian random walk with daily sd ``sigma``: no forecast beats the last close."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0.0, sigma, n)))
    volume = rng.integers(1_000_000, 2_000_000, n).astype(float)
    index = pd.bdate_range("2000-01-03", periods=n, name="date")
    return pd.DataFrame(
        {
            "open": close,
            "high": close * 1.001,
            "low": close * 0.999,
            "close": close,
            "volume": volume,
        },
        index=index,
    )


@pytest.fixture
def prices() -> pd.DataFrame:
    return make_prices()


@pytest.fixture
def prices_csv(tmp_path: Path, prices: pd.DataFrame) -> Path:
    path = tmp_path / "prices.csv"
    prices.to_csv(path)
    return path


@pytest.fixture
def tiny_config(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_CONFIG)
    return path


def yahoo_frame(
    prices: pd.DataFrame,
    ticker: str = "AAPL",
    multi_level: bool = True,
    tz: str = "America/New_York",
) -> pd.DataFrame:
    """``prices`` shaped like yfinance's output: a timezone-aware 'Date' index at midnight
    exchange time and, like ``yf.download``, two column levels ('Price', 'Ticker');
    ``multi_level=False`` gives ``Ticker.history``'s flat columns with Dividends/Stock Splits."""
    frame = prices.copy()
    frame.index = pd.DatetimeIndex(frame.index).tz_localize(tz)
    frame.index.name = "Date"
    if multi_level:
        frame.columns = pd.MultiIndex.from_product(
            [list(frame.columns), [ticker]], names=["Price", "Ticker"]
        )
    else:
        frame["Dividends"] = 0.0
        frame["Stock Splits"] = 0.0
    return frame


class FakeClock:
    """A wait clock (``rnnforecast.data.throttle.WaitClock``: Yahoo's retries and the fetch's
    rate limit wait on it) that only pretends to sleep: ``sleeps`` records the pauses asked
    for, and time moves on by them."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class FakeYahoo:
    """Stands in for the Yahoo download (a ``rnnforecast.data.yahoo.YahooDownloader``; the real
    one is the child process that runs yfinance), with a fake clock for the retries.

    ``answers`` is a queue: each call pops one; a DataFrame is returned (with ``exchange`` as
    the quote's exchange code), an exception raised, a dict's answer for the symbol taken
    (tickers are fetched at once: a queue's order is theirs only for one ticker). When one
    answer is left it is reused.
    ``calls`` records the requests' fields; ``sleeps`` the backoff delays the code asked for.
    :meth:`source` is a YahooSource that downloads through this fake; ``seams`` hands it to
    the command line (``cli(..., yahoo=fake)``).
    """

    def __init__(self) -> None:
        self.answers: list[Any] = []
        self.calls: list[dict[str, Any]] = []
        self.clock = FakeClock()
        self.sleeps = self.clock.sleeps
        self.exchange: str | None = None

    def source(self, **options: Any) -> YahooSource:
        return YahooSource(clock=self.clock, downloader=self, **options)

    @property
    def seams(self) -> Seams:
        return Seams(yahoo_downloader=self, retry_clock=self.clock)

    def __call__(self, request: YahooRequest) -> YahooAnswer:
        self.calls.append(
            {
                "symbol": request.symbol,
                "start": request.start,
                "end": request.end,
                "auto_adjust": request.auto_adjust,
                "timeout": request.timeout,
                "cache": request.cache,
            }
        )
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, dict):
            answer = answer[request.symbol]
        if isinstance(answer, BaseException):
            raise answer
        if callable(answer):
            answer = answer(request.symbol, request.start, request.end)
        return YahooAnswer(answer.copy(), self.exchange)


@pytest.fixture
def fake_yahoo() -> FakeYahoo:
    return FakeYahoo()


@dataclass(frozen=True)
class FakeSource:
    """A source (``rnnforecast.data.sources.Source``) that hands over ``frames[symbol]`` (a
    canonical frame) or raises ``errors[symbol]``; ``asked`` records (symbol, start, end)."""

    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    errors: dict[str, Exception] = field(default_factory=dict)
    asked: list[tuple[str, Any, Any]] = field(default_factory=list)
    name: str = "fake"
    one_ticker: bool = False
    default_ticker: str | None = None
    live: bool = False
    incremental: bool = False

    def origin(self, symbol: str) -> str:
        return f"{symbol} (fake)"

    def bars(self, symbol: str, start: Any = None, end: Any = None, cache: Any = None) -> Bars:
        self.asked.append((symbol, start, end))
        if symbol in self.errors:
            raise self.errors[symbol]
        return Bars(self.frames[symbol], self.name)


# --- a series a tiny network can learn -------------------------------------------------------

LEARNABLE_CONFIG = """\
[data]
features = ["close", "log_return"]
window = 10
test_fraction = 0.2
val_fraction = 0.2
# 56 of the 79 validation windows calibrate: on the default half (40) the shrink gate's
# Diebold-Mariano test is not significant (p 0.10) though the network's test rel_mae is 0.71
calibration_fraction = 0.7

[model]
units = 4
dense_units = 4

[train]
epochs = 8
batch_size = 8
learning_rate = 0.01
patience = 8
seed = 7

[calibration]
intervals = "model"  # as TINY_CONFIG
"""
"""A tiny recipe that learns :func:`learnable_prices` in a few seconds: the log return is an
input, and batch 8 gives the few epochs enough gradient steps. Trained on 500 rows of
``learnable_prices()`` it keeps a shrink factor above 0 and beats naive clearly."""


def learnable_prices(
    n: int = 500, rho: float = 0.6, seed: int = 3, start: str = "2020-01-01"
) -> pd.DataFrame:
    """Daily bars whose log returns are an AR(1) with coefficient ``rho`` (noise 1 %): the
    best forecast of tomorrow's move is ``rho`` times today's, so a network that learns
    anything beats the naive forecast. Columns and index as in :func:`make_prices`."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 0.01, n)
    returns = np.zeros(n)
    for t in range(1, n):
        returns[t] = rho * returns[t - 1] + noise[t]
    close = 100 * np.exp(np.cumsum(returns))
    open_ = np.concatenate([[close[0]], close[:-1]])
    index = pd.bdate_range(start, periods=n, name="Date")
    return pd.DataFrame(
        {
            "Open": open_,
            "High": np.maximum(open_, close) * 1.002,
            "Low": np.minimum(open_, close) * 0.998,
            "Close": close,
            "Volume": 1e6 + rng.integers(0, 1000, n),
        },
        index=index,
    )


LEARNABLE_LOOKBACK = 11  # LEARNABLE_CONFIG's window 10, plus the row before for log_return


def window_rows(close: np.ndarray, i: int) -> tuple[np.ndarray, float]:
    """Unscaled inputs ``(10, 2)`` of LEARNABLE_CONFIG's window ``i`` (rows i .. i+10; inputs
    from the last 10: close over the first input row's close minus 1, and the log return),
    and its target (the log return of row i+11)."""
    n = LEARNABLE_LOOKBACK
    rows = close[i + 1 : i + n]
    features = np.stack([rows / rows[0] - 1.0, np.log(rows / close[i : i + n - 1])], 1)
    return features, float(np.log(close[i + n] / close[i + n - 1]))


def min_max(values: np.ndarray) -> dict[str, list[float]]:
    return {"data_min": list(values.min(axis=0)), "data_max": list(values.max(axis=0))}


def expected_scalers(close: np.ndarray, n_train: int) -> dict[str, Any]:
    """Min and max of LEARNABLE_CONFIG's first ``n_train`` windows' inputs and targets,
    straight from the closes."""
    pairs = [window_rows(close, i) for i in range(n_train)]
    features = np.concatenate([f for f, _ in pairs])
    targets = np.array([[t] for _, t in pairs])
    return {"features": min_max(features), "target": min_max(targets)}


def cli(*args: str, home: Path | None = None, yahoo: FakeYahoo | None = None) -> Result:
    """``rnnforecast [--home HOME] ARGS`` run in-process as a user would; stdout and stderr
    apart in the result. ``yahoo``: a fake that Yahoo downloads go to."""
    # obj only when there is one: an explicit obj=None changes how Click ends --show-completion.
    seams = {"obj": yahoo.seams} if yahoo is not None else {}
    return CliRunner().invoke(app, (["--home", str(home)] if home else []) + list(args), **seams)


def assert_error(result: Result, code: int, *words: str) -> str:
    """The command failed as the CLI promises: exit ``code``, nothing on stdout, one line on
    stderr, ``error: ...`` (no traceback, not a bug), naming each of ``words``. Returns the
    line, for tests that check all of it."""
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and "a bug" not in lines[0], lines[0]
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


def bars_of_returns(returns: np.ndarray, volume: np.ndarray) -> pd.DataFrame:
    """Daily bars from 2010-01-01 whose close-to-close log returns are ``returns`` ``(n,)``:
    the first close 100 * exp(returns[0]), open = previous close (100 first), a high-low
    range around them that grows with the move; ``volume`` ``(n,)``."""
    close = 100 * np.exp(np.cumsum(returns))
    open_ = np.concatenate([[100.0], close[:-1]])
    spread = np.abs(returns) / 2 + 0.001
    return pd.DataFrame(
        {
            "Open": open_,
            "High": np.maximum(open_, close) * (1 + spread),
            "Low": np.minimum(open_, close) * (1 - spread),
            "Close": close,
            "Volume": volume,
        },
        index=pd.bdate_range("2010-01-01", periods=len(returns), name="Date"),
    )


HOLD_LOCK = """
import sys, time
from pathlib import Path
from rnnforecast.storage import locks
with locks.hold(Path(sys.argv[1]), sys.argv[2], timeout=0):
    print("held", flush=True)
    time.sleep(60)
"""


def hold_lock(home: Path, name: str) -> subprocess.Popen[str]:
    """Another process that holds the lock ``name`` of ``home`` for a minute, returned once
    it holds it: kill it when done."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(home / "locks"), name],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


IMPORTS_PROBE = """
import json, sys
from rnnforecast.cli.commands import app
try:
    app(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
heavy = [m for m in ("arch", "scipy", "pandas", "tensorflow", "keras") if m in sys.modules]
sys.stderr.write("\\nMODULES " + json.dumps({"code": code, "heavy": heavy}) + "\\n")
"""


def heavy_imports(*args: str) -> dict[str, Any]:
    """``rnnforecast ARGS`` in a fresh interpreter: ``{"code": exit code, "heavy": [...]}``,
    the heavy libraries (arch, scipy, pandas, tensorflow, keras) it imported."""
    done = subprocess.run(
        [sys.executable, "-c", IMPORTS_PROBE, *args], capture_output=True, text=True, timeout=120
    )
    line = [x for x in done.stderr.splitlines() if x.startswith("MODULES ")][-1]
    result: dict[str, Any] = json.loads(line.removeprefix("MODULES "))
    return result


def reseal(manifest: Path) -> None:
    """Record an edited manifest's checksum, as a deliberate editor would."""
    from rnnforecast.storage.artifacts import MANIFEST_SUM_FILE, sha256_file

    (manifest.parent / MANIFEST_SUM_FILE).write_text(sha256_file(manifest) + "\n")


@pytest.fixture(scope="session")
def learned(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A home with 500 rows of ``learnable_prices()`` as ticker LRN and a model trained on
    them with ``LEARNABLE_CONFIG`` and ``--no-refit`` (trained once per session: copy it with
    ``learned_home`` before changing anything). Keys: home, csv, config, prices, train
    (the ``train --json`` document)."""
    folder = tmp_path_factory.mktemp("learned")
    home, csv, config = folder / "home", folder / "lrn.csv", folder / "learnable.toml"
    prices = learnable_prices()
    prices.to_csv(csv)
    config.write_text(LEARNABLE_CONFIG)
    fetched = cli("fetch", "LRN", "--csv", str(csv), home=home)
    assert fetched.exit_code == 0, fetched.stderr
    # --no-refit: the bundle serves the scored fit, whose weights, scalers and calibration the
    # end-to-end tests recompute from the training and validation rows.
    trained = cli("train", "LRN", "--config", str(config), "--no-refit", "--json", home=home)
    assert trained.exit_code == 0, trained.stderr
    return {
        "home": home,
        "csv": csv,
        "config": config,
        "prices": prices,
        "train": trained_entry(trained.stdout),
    }


@pytest.fixture
def learned_home(learned: dict[str, Any], home: Path) -> Path:
    """This test's own copy of the ``learned`` home (at the usual ``home`` path)."""
    shutil.copytree(learned["home"], home)
    return home


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A home with 300 rows of ``make_prices(300, seed=3)`` as ticker TEST and one tiny model
    trained on them with ``TINY_CONFIG`` (trained once per session and never changed: a test
    works on its own copy from ``trained_home``). Keys: home, csv, config, prices, train (the
    ``train --json`` document; its ``path`` is in this home, the copy's bundle is at
    ``trained_home / "models" / "TEST" / run_id``), stderr (what that training printed)."""
    folder = tmp_path_factory.mktemp("trained")
    home, csv, config = folder / "home", folder / "prices.csv", folder / "tiny.toml"
    prices = make_prices(300, seed=3)
    prices.to_csv(csv)
    config.write_text(TINY_CONFIG)
    fetched = cli("fetch", "TEST", "--csv", str(csv), home=home)
    assert fetched.exit_code == 0, fetched.stderr
    result = cli("train", "TEST", "--config", str(config), "--json", home=home)
    assert result.exit_code == 0, result.stderr
    return {
        "home": home,
        "csv": csv,
        "config": config,
        "prices": prices,
        "train": trained_entry(result.stdout),
        "stderr": result.stderr,
    }


@pytest.fixture
def trained_home(trained: dict[str, Any], home: Path) -> Path:
    """This test's own copy of the ``trained`` home (at the usual ``home`` path, so the CLI
    finds it without ``--home``)."""
    shutil.copytree(trained["home"], home)
    return home


# Fixtures that train a network: a test that uses one (directly or through another fixture:
# pytest lists those too, so trained_home, learned_home, copy... need no entry) is marked
# slow, so `pytest -m "not slow"` runs the quick part of the suite.
TRAINING_FIXTURES = {
    "trained",  # conftest's, and test_api's, test_faults' and test_numpy_model's own
    "learned",
    "weak_then_strong",
    "managed",  # test_manage
    "recursive_model",  # test_calendars
    "adaptive_model",  # test_adaptive
    "one_by_one",  # test_executors
    "group",  # test_global
    "grouped",  # test_forget_group
    "garch",  # test_head
    "homes",  # test_horizons
    "runs",  # test_refit
    "nights",  # test_warm
    "first_night",  # test_warm
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if TRAINING_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def current_bundle(home: Path, ticker: str) -> Path:
    """The folder of ``ticker``'s current bundle in ``home``, by its ``current`` pointer."""
    folder = home / "models" / ticker
    return folder / (folder / "current").read_text().strip()


def strict_json(text: str) -> Any:
    """The one JSON document of ``text``; NaN, Infinity and -Infinity are refused, as strict
    parsers do."""

    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def trained_entry(text: str) -> dict[str, Any]:
    """The one ticker's entry of ``train TICKER --json``, whose document is
    ``{"tickers": [entry]}`` as for any number of tickers (plus ``warnings`` when a number
    was not finite)."""
    document = strict_json(text)
    assert set(document) - {"warnings"} == {"tickers"}, document
    [entry] = document["tickers"]
    assert isinstance(entry, dict) and "error" not in entry, entry
    return entry


def _read_only_bind(source: Path, target: Path) -> bool:
    """Mount ``source`` read-only at ``target`` (root only); False if this system can't."""
    target.mkdir()
    steps = (["mount", "--bind", str(source), str(target)],
             ["mount", "-o", "remount,bind,ro", str(target)])  # fmt: skip
    for step in steps:
        if subprocess.run(step, capture_output=True).returncode != 0:
            subprocess.run(["umount", str(target)], capture_output=True)
            return False
    return True


@contextlib.contextmanager
def read_only(home: Path, tmp_path: Path) -> Iterator[Path]:
    """``home`` made really read-only for the ``with`` block: chmod where we are not root, a
    read-only bind mount (under ``tmp_path``) where we are, skipping the test if that cannot
    be mounted. Yields the path to use as the home; restores it afterwards."""
    if os.geteuid() != 0:
        target = home
        for path in [home, *home.rglob("*")]:
            path.chmod(0o555 if path.is_dir() else 0o444)
    else:
        target = tmp_path / "ro"
        if not _read_only_bind(home, target):
            pytest.skip("cannot mount read-only here")
    try:
        yield target
    finally:
        if target != home:
            subprocess.run(["umount", "--lazy", str(target)], check=True)
        else:
            for path in [home, *home.rglob("*")]:
                path.chmod(0o755 if path.is_dir() else 0o644)


@contextlib.contextmanager
def machine_zone(name: str) -> Iterator[None]:
    """The process's local time zone set to ``name`` (``TZ``) for the ``with`` block: code
    that should work in UTC must not read the machine's zone (UTC here and on CI)."""
    import time

    saved = os.environ.get("TZ")
    os.environ["TZ"] = name
    time.tzset()
    try:
        yield
    finally:
        if saved is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = saved
        time.tzset()


@dataclass(frozen=True)
class StoreAsOf:
    """The store as it stood on the day of row ``last`` (0-based over the ticker's bars): a
    fake through the Home seam for walking ``serving.predict`` day by day."""

    store: Store
    last: int

    def read_last(self, ticker: str, rows: int) -> tuple[np.ndarray, np.ndarray]:
        dates, values = self.store.read_last(ticker, 10**9)
        keep = slice(max(self.last + 1 - rows, 0), self.last + 1)
        return dates[keep], values[keep]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


@dataclass(frozen=True)
class HomeAsOf(Home):
    """A home whose store ends at row ``last`` (pass it by keyword: Home's second field is
    the lock wait)."""

    last: int = 0

    @property
    def store(self) -> Any:
        return StoreAsOf(Store(self.root / "store.sqlite"), self.last)


@dataclass(frozen=True)
class Terminal:
    """What a command wrote when run on a pseudo-terminal: its exit ``code``, its stdout and
    stderr (each its own terminal, so either may be one alone)."""

    code: int
    stdout: str
    stderr: str


def on_terminal(
    *args: str, home: Path, columns: int = 80, tty: tuple[str, ...] = ("stdout", "stderr")
) -> Terminal:
    """``rnnforecast --home HOME ARGS`` in a fresh interpreter whose ``tty`` streams are
    pseudo-terminals ``columns`` wide (the others pipes), as a person at a terminal runs it."""
    import fcntl
    import pty
    import select
    import struct
    import termios

    streams: dict[str, Any] = {}
    readers: dict[str, int] = {}
    for name in ("stdout", "stderr"):
        if name in tty:
            reader, writer = pty.openpty()
            size = struct.pack("HHHH", 24, columns, 0, 0)
            fcntl.ioctl(writer, termios.TIOCSWINSZ, size)
            streams[name], readers[name] = writer, reader
        else:
            streams[name] = subprocess.PIPE
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.update(COLUMNS=str(columns), TERM="xterm")
    env.pop("NO_COLOR", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "rnnforecast", "--home", str(home), *args],
        stdin=subprocess.DEVNULL,
        env=env,
        **streams,
    )
    for name, writer in streams.items():
        if name in readers:
            os.close(writer)
    # Read both at once (a pipe or terminal left unread would stop the child when full).
    sources = {reader: name for name, reader in readers.items()}
    sources.update({getattr(process, n).fileno(): n for n in streams if n not in readers})
    out: dict[str, bytes] = {"stdout": b"", "stderr": b""}
    while sources:
        ready, _, _ = select.select(list(sources), [], [], 300)
        assert ready, "the command wrote nothing for 300 s"
        for fd in ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the child closed its end of the terminal
                chunk = b""
            if chunk:
                out[sources[fd]] += chunk
            else:
                del sources[fd]
    for reader in readers.values():
        os.close(reader)
    code = process.wait(timeout=300)
    return Terminal(
        code, out["stdout"].decode(errors="replace"), out["stderr"].decode(errors="replace")
    )
