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

from rnnforecast.artifacts import ModelRepository
from rnnforecast.store import Store


@dataclass(frozen=True)
class Home:
    root: Path

    @property
    def store(self) -> Store:
        return Store(self.root / "store.sqlite")

    @property
    def models(self) -> ModelRepository:
        return ModelRepository(self.root / "models")

    @property
    def locks(self) -> Path:
        return self.root / "locks"

    @property
    def yahoo_cache(self) -> Path:
        return self.root / "cache" / "yfinance"
