"""The home folder: where the data store and the model bundles live.

``HOME/store.sqlite`` holds the bars, ``HOME/models/TICKER/RUN_ID/`` the bundles,
``HOME/locks/`` the lock files of running jobs, ``HOME/cache/yfinance/`` yfinance's caches
(time zones, cookies). The CLI
chooses the folder (``--home``, ``RNNFORECAST_HOME``, or the platform's user data folder);
the core only receives it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported on use, so the CLI can ask for default_root() cheaply
    from rnnforecast.artifacts import ModelRepository
    from rnnforecast.store import Store


def default_root() -> Path:
    """The platform's user data folder for rnnforecast, e.g. ``~/.local/share/rnnforecast``
    on Linux (not created here): the CLI's default home, and the Python API's."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("rnnforecast", appauthor=False))


@dataclass(frozen=True)
class Home:
    root: Path

    @property
    def store(self) -> Store:
        from rnnforecast.store import Store

        return Store(self.root / "store.sqlite")

    @property
    def models(self) -> ModelRepository:
        from rnnforecast.artifacts import ModelRepository

        return ModelRepository(self.root / "models")

    @property
    def locks(self) -> Path:
        return self.root / "locks"

    @property
    def yahoo_cache(self) -> Path:
        return self.root / "cache" / "yfinance"
