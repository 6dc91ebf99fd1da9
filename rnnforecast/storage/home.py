"""The home folder: where the data store and the model bundles live.

``HOME/store.sqlite`` holds the bars, ``HOME/models/TICKER/RUN_ID/`` the bundles,
``HOME/locks/`` the lock files of running jobs, ``HOME/cache/yfinance/`` yfinance's caches
(time zones, cookies). The CLI
chooses the folder (``--home``, ``RNNFORECAST_HOME``, or the platform's user data folder);
the core only receives it. A job that writes a ticker's rows or models holds the ticker's
lock (:meth:`Home.lock`) while it does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rnnforecast.storage.locks import DEFAULT_WAIT

if TYPE_CHECKING:  # imported on use, so the CLI can ask for default_root() cheaply
    from rnnforecast.data.store import Store
    from rnnforecast.storage.artifacts import ModelRepository


def default_root() -> Path:
    """The platform's user data folder for rnnforecast, e.g. ``~/.local/share/rnnforecast``
    on Linux (not created here): the CLI's default home, and the Python API's."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("rnnforecast", appauthor=False))


@dataclass(frozen=True)
class Home:
    """The home folder at ``root``; ``wait`` is how many seconds :meth:`lock` waits for
    another process's lock on a ticker unless told otherwise (0: try once)."""

    root: Path
    wait: float = DEFAULT_WAIT

    @property
    def store(self) -> Store:
        from rnnforecast.data.store import Store

        return Store(self.root / "store.sqlite")

    @property
    def models(self) -> ModelRepository:
        from rnnforecast.storage.artifacts import ModelRepository

        return ModelRepository(self.root / "models")

    @property
    def locks(self) -> Path:
        return self.root / "locks"

    @property
    def yahoo_cache(self) -> Path:
        return self.root / "cache" / "yfinance"

    @contextlib.contextmanager
    def lock(self, name: str, wait: float | None = None) -> Iterator[str]:
        """Check the ticker (or ``@GROUP``) ``name`` and hold its lock for the ``with``
        block, waiting up to ``wait`` seconds (default: the home's; 0: try once) for another
        holder; yields the
        checked symbol. Raises UsageError for a bad name, LockError when the wait runs out
        (see :mod:`rnnforecast.storage.locks`), OSError if the locks folder cannot be written."""
        from rnnforecast.data.tickers import GROUP_PREFIX, check_group, check_ticker
        from rnnforecast.storage import locks

        symbol = check_group(name) if name.startswith(GROUP_PREFIX) else check_ticker(name)
        with locks.hold(self.locks, f"ticker-{symbol}", self.wait if wait is None else wait):
            yield symbol

    @contextlib.contextmanager
    def lock_all(self, names: Iterable[str], wait: float | None = None) -> Iterator[None]:
        """:meth:`lock` on every one of ``names`` in turn, for one ``with`` block."""
        with contextlib.ExitStack() as stack:
            for name in names:
                stack.enter_context(self.lock(name, wait))
            yield
