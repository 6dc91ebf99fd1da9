"""The Yahoo download: yfinance in a child process with a hard deadline.

yfinance runs in a fresh interpreter that never imports TensorFlow, for two reasons:

- TensorFlow's ``libtensorflow_framework.so.2`` carries its own libcurl and is loaded into the
  global symbol scope. Once it is loaded, the ``curl_*`` calls inside curl_cffi (the HTTP
  client yfinance uses to look like a browser) bind to TensorFlow's stock libcurl, which
  rejects the browser options: "Impersonating chrome... is not supported". No import order
  avoids it in one process.
- A process can be killed. yfinance makes several requests per download, some with timeouts
  of its own (10 to 30 s), so a stalled server held a download with ``timeout=1`` for 70 s;
  a deadline can only be enforced from outside.

:class:`ChildDownloader` keeps one child for many downloads (its start, mostly importing
yfinance and pandas, takes about 1.5 s), kills it when an answer is late and starts the next
one straight away. Failures come back as :class:`DownloadFailure` with a ``kind`` that says
whether asking again may help; anything else the child raises comes back as
:class:`ChildCrash` (a bug, never retried). :class:`ChildPool` hands each download in flight
a child of its own, so that several threads can download at once.
"""

from __future__ import annotations

import atexit
import json
import logging
import math
import os
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Literal, Protocol

import pandas as pd

Kind = Literal["network", "rate_limit", "missing", "local"]

STARTUP_TIMEOUT = 10.0
"""Seconds a new child may take to import yfinance before the download counts as failed."""
GRACE = 0.25
"""Seconds on top of ``timeout`` for the child to hand a finished answer over."""


@dataclass(frozen=True)
class YahooRequest:
    """One daily-bars download: ``start`` inclusive, ``end`` exclusive (YYYY-MM-DD; ``None``
    start means the whole history); ``timeout`` in seconds for the whole download;
    ``cache`` is yfinance's cache folder; ``deadline`` (``time.monotonic()`` seconds) is when
    the caller stops waiting, child start-up included."""

    symbol: str
    start: str | None
    end: str | None
    auto_adjust: bool
    timeout: float
    cache: Path | None = None
    deadline: float = math.inf


@dataclass(frozen=True)
class YahooAnswer:
    """yfinance's frame as it returned it, and the exchange code Yahoo gave for the quote
    (``exchangeName``, e.g. "NMS" for Nasdaq), or None."""

    frame: pd.DataFrame
    exchange: str | None = None


class YahooDownloader(Protocol):
    """The seam between the retry loop and yfinance (tests pass a fake)."""

    def __call__(self, request: YahooRequest) -> YahooAnswer: ...


class DownloadFailure(Exception):
    """A download failed for a reason worth naming: ``kind`` is network (no or late answer),
    rate_limit, missing (Yahoo has no such symbol or no bars) or local (this machine could not
    run the download)."""

    def __init__(self, kind: Kind, message: str) -> None:
        super().__init__(message)
        self.kind: Kind = kind


class ChildCrash(RuntimeError):
    """The download raised something unforeseen (a bug in rnnforecast or yfinance), or the
    child process died. The message is one line; the child's traceback, if any, is the
    ``__cause__`` (a :class:`ChildTraceback`)."""


class ChildTraceback(Exception):
    """The text of a traceback printed in the child process."""


def classify(exc: BaseException) -> Kind | None:
    """What kind of failure ``exc`` is, or None for one that nobody foresaw (a bug).

    yfinance's own errors first; then curl_cffi's "impersonation" error, which is local;
    then OS-level errors (curl_cffi's network errors are OSErrors) and unreadable answers
    (Yahoo's HTML error pages fail to parse as JSON), which are network trouble.
    """
    if isinstance(exc, DownloadFailure):
        return exc.kind
    try:
        from yfinance import exceptions as yfe
    except ImportError:  # pragma: no cover - yfinance is a dependency
        yfe = None
    if yfe is not None:
        if isinstance(exc, yfe.YFTickerMissingError):
            return "missing"
        if isinstance(exc, yfe.YFRateLimitError):
            return "rate_limit"
        if isinstance(exc, yfe.YFDataException):  # "Yahoo! Finance is currently down"
            return "network"
    if type(exc).__name__ == "ImpersonateError":  # curl_cffi: the HTTP library is broken here
        return "local"
    # yfinance's cache databases (sqlite3, through peewee) locked by another process, or
    # unusable: this machine's trouble, not a bug
    database = type(exc).__name__ in ("OperationalError", "DatabaseError")
    if database and type(exc).__module__ in ("sqlite3", "peewee"):
        return "local"
    if isinstance(exc, (OSError, json.JSONDecodeError)):
        return "network"
    return None


# --- the parent side -------------------------------------------------------------------------


class ChildDownloader:
    """Downloads in a child interpreter, one at a time; see the module docstring.

    The child is started on first use (or by :meth:`start`) and kept for later downloads with
    the same cache folder. ``startup_timeout`` bounds a child's start, ``grace`` is added to
    each request's ``timeout``. Not thread-safe.
    """

    def __init__(self, startup_timeout: float = STARTUP_TIMEOUT, grace: float = GRACE) -> None:
        self.startup_timeout = startup_timeout
        self.grace = grace
        self._process: subprocess.Popen[bytes] | None = None
        self._to_child: Connection | None = None
        self._from_child: Connection | None = None
        self._cache: Path | None = None
        self._ready = False
        self._started = 0.0
        # A child waiting for work ends when our end of its stdin closes; one that is busy
        # would linger until yfinance gives up, so stop it when this interpreter exits.
        atexit.register(self.close)

    def start(self, cache: Path | None, deadline: float = math.inf) -> None:
        """Make sure a child for ``cache`` runs and has imported yfinance.

        Raises DownloadFailure("local") if it does not say so within ``startup_timeout``
        seconds (or by ``deadline``), ChildCrash if it dies while starting.
        """
        if self._process is not None and (self._cache != cache or self._process.poll() is not None):
            self.close()
        if self._process is None:
            self._spawn(cache)
        if self._ready:
            return
        until = min(deadline, self._started + self.startup_timeout)
        message = self._receive(until)
        if message is None:
            self.close()
            raise DownloadFailure(
                "local",
                f"the download process did not start within {self.startup_timeout:g} s "
                "(machine overloaded?)",
            )
        if message[0] == "failed":
            self.close()
            raise DownloadFailure(message[1], message[2])
        if message[0] != "ready":  # pragma: no cover - the child speaks this protocol
            self.close()
            raise ChildCrash(f"the download process said {message[0]!r} instead of 'ready'")
        self._ready = True

    def __call__(self, request: YahooRequest) -> YahooAnswer:
        """Download ``request`` in the child.

        Raises DownloadFailure ("network" when no answer comes within ``timeout + grace``
        seconds or by the deadline: the child is then killed and a new one started), or
        ChildCrash for anything unforeseen.
        """
        self.start(request.cache, request.deadline)
        assert self._to_child is not None
        try:
            self._to_child.send(request)
        except OSError:
            self.close()
            raise ChildCrash("the download process went away before the request") from None
        waited = min(request.deadline, time.monotonic() + request.timeout + self.grace)
        message = self._receive(waited)
        if message is None:
            self.close()
            # Start the next child now: its start-up overlaps the caller's backoff sleep.
            self._spawn(request.cache)
            raise DownloadFailure(
                "network", f"no answer within {request.timeout:g} s (connection stalled?)"
            )
        if message[0] == "ok":
            return YahooAnswer(message[1], message[2])
        if message[0] == "failed":
            raise DownloadFailure(message[1], message[2])
        raise ChildCrash(f"{message[1]} in the download process: {message[2]}") from ChildTraceback(
            message[3]
        )

    def close(self) -> None:
        """Stop the child (kill it if busy); the next download starts a new one."""
        process, self._process = self._process, None
        self._ready = False
        for connection in (self._to_child, self._from_child):
            if connection is not None:
                connection.close()
        self._to_child = self._from_child = None
        if process is not None:
            process.kill()
            process.wait()

    def _spawn(self, cache: Path | None) -> None:
        # The package folder goes first on the child's path, so that it runs this very code.
        root = str(Path(__file__).resolve().parent.parent)
        code = (
            f"import sys; sys.path.insert(0, {root!r}); "
            "from rnnforecast.data.yahoo import serve; serve()"
        )
        self._process = subprocess.Popen(
            [sys.executable, "-c", code, str(cache) if cache is not None else ""],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert self._process.stdin is not None and self._process.stdout is not None
        self._to_child = Connection(os.dup(self._process.stdin.fileno()), readable=False)
        self._from_child = Connection(os.dup(self._process.stdout.fileno()), writable=False)
        self._process.stdin.close()
        self._process.stdout.close()
        self._cache = cache
        self._started = time.monotonic()
        self._ready = False

    def _receive(self, until: float) -> tuple[Any, ...] | None:
        """The child's next message, or None if none came by ``until`` (monotonic seconds).
        Raises ChildCrash if the child died."""
        assert self._from_child is not None and self._process is not None
        try:
            if not self._from_child.poll(max(0.0, until - time.monotonic())):
                return None
            message: tuple[Any, ...] = self._from_child.recv()
        except (EOFError, OSError):
            code = self._process.wait()
            self.close()
            raise ChildCrash(
                f"the download process ended unexpectedly (exit code {code})"
            ) from None
        return message


class ChildPool:
    """Downloads in child interpreters, one :class:`ChildDownloader` per download in flight:
    a download takes an idle child (``factory()`` makes one when none is idle) and gives it
    back when it ends, so the children number the most downloads ever in flight at once,
    each kept for later downloads. Child ``k`` (from 0) keeps yfinance's cache in the
    request's cache folder's ``child-k``: yfinance's cache databases are SQLite files that
    two processes writing at once lock each other out of. Thread-safe."""

    def __init__(self, factory: Callable[[], YahooDownloader] = ChildDownloader) -> None:
        self.factory = factory
        self._idle: list[tuple[int, YahooDownloader]] = []
        self._taking = threading.Lock()
        self.started = 0  # children made so far

    def __call__(self, request: YahooRequest) -> YahooAnswer:
        """Download ``request`` in an idle child (see :meth:`ChildDownloader.__call__`)."""
        with self._taking:
            if self._idle:
                slot, child = self._idle.pop()
            else:
                slot, child = self.started, self.factory()
                self.started += 1
        own = None if request.cache is None else request.cache / f"child-{slot}"
        try:
            return child(replace(request, cache=own))
        finally:
            with self._taking:
                self._idle.append((slot, child))

    def close(self) -> None:
        """Stop the idle children (the next download starts a new one)."""
        with self._taking:
            idle, self._idle = self._idle, []
        for _, child in idle:
            if isinstance(child, ChildDownloader):
                child.close()


# --- the child side --------------------------------------------------------------------------


def serve() -> None:
    """The child's main loop: import yfinance, say ("ready",) (or ("failed", "local", text)
    if its cache folder is unusable), then answer requests read from stdin until it closes.
    Messages are pickles in multiprocessing's framing; answers are ("ok", frame, exchange),
    ("failed", kind, text) or ("crashed", type name, text, traceback)."""
    # Keep the protocol's stream for ourselves: anything printed goes to stderr instead.
    outgoing = Connection(os.dup(1), readable=False)
    os.dup2(2, 1)
    incoming = Connection(os.dup(0), writable=False)
    cache = sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] else None
    try:
        _configure_yfinance(cache)
    except OSError as exc:
        outgoing.send(("failed", "local", f"cannot use the cache folder {cache}: {exc}"))
        return
    outgoing.send(("ready",))
    while True:
        try:
            request = incoming.recv()
        except EOFError:
            return
        outgoing.send(_answer(request))


class _ErrorLog(logging.Handler):
    """Collects what yfinance logs at ERROR level during one download."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _configure_yfinance(cache: str | None) -> None:
    import yfinance as yf

    if cache:
        Path(cache).mkdir(parents=True, exist_ok=True)
        yf.set_tz_cache_location(cache)
    # Make failures raise instead of coming back as an empty frame, and keep yfinance quiet.
    yf.config.debug.hide_exceptions = False
    logger = logging.getLogger("yfinance")
    logger.setLevel(logging.ERROR)
    logger.propagate = False


def _answer(request: YahooRequest) -> tuple[Any, ...]:
    import yfinance as yf
    from yfinance import shared

    errors = _ErrorLog()
    logger = logging.getLogger("yfinance")
    logger.addHandler(errors)
    shared._ERRORS.clear()
    try:
        ticker = yf.Ticker(request.symbol)
        frame = ticker.history(
            period=None if request.start else "max",
            start=request.start,
            end=request.end,
            interval="1d",
            auto_adjust=request.auto_adjust,
            actions=False,
            timeout=request.timeout,
        )
    except Exception as exc:  # noqa: BLE001 - sorted below; the unforeseen go back as a crash
        kind = classify(exc)
        if kind is None:
            return ("crashed", type(exc).__name__, _one_line(exc), traceback.format_exc())
        return ("failed", kind, _one_line(exc))
    finally:
        logger.removeHandler(errors)
    if frame is None or len(frame) == 0:
        logged = [*errors.messages, *(str(v) for v in shared._ERRORS.values())]
        failure = failure_behind_empty_frame(logged)
        if failure is not None:
            return ("failed", failure.kind, str(failure))
    return ("ok", frame, _exchange(ticker))


def failure_behind_empty_frame(logged: list[str]) -> DownloadFailure | None:
    """What an empty frame from yfinance means, given the errors it logged meanwhile.

    yfinance still swallows some failures and returns an empty frame; the first error it
    logged is then the real failure: "missing" if it says the symbol has no data, else
    "network". None when nothing was logged (Yahoo answered with no bars).
    """
    if not logged:
        return None
    text = _one_line(Exception(logged[0]))
    lowered = text.lower()
    missing = any(w in lowered for w in ("delisted", "no price data", "not found", "no data"))
    return DownloadFailure("missing" if missing else "network", text)


def _exchange(ticker: Any) -> str | None:
    try:
        code = ticker.history_metadata.get("exchangeName")
    except Exception:  # noqa: BLE001 - the code is a nice-to-have; the bars are what matter
        return None
    return code if isinstance(code, str) and code else None


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."
