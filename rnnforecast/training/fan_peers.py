"""The tickers a ticker's fan network learns from besides its own: its peers.

A fan network is scale free (returns over the trailing volatility), so the stored tickers of
the same exchange calendar can teach it more than one ticker's few thousand bars. With
``calibration.fan_network`` on, a ticker's network is trained on its own bars and those of at
most ``calibration.fan_peers`` others of its calendar (the longest histories first, then by
symbol), each cut before the ticker's own test period
(:func:`rnnforecast.training.fan_fit.cutoffs`). Never prints.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rnnforecast.config import Config
from rnnforecast.errors import NoStoredData

if TYPE_CHECKING:
    import pandas as pd

    from rnnforecast.storage.home import Home


def peer_symbols(home: Home, symbol: str, config: Config) -> list[str]:
    """The peers of ``symbol`` in ``home``'s store under ``config``: none unless
    ``calibration.fan_network`` is on; else the other stored tickers of its calendar, the
    ``calibration.fan_peers`` with the most bars (ties by symbol)."""
    limit = config.calibration.fan_peers if config.calibration.fan_network else 0
    if limit == 0:
        return []
    stored = home.store.tickers()
    own = [t.calendar for t in stored if t.ticker == symbol]
    others = [t for t in stored if own and t.calendar == own[0] and t.ticker != symbol]
    others.sort(key=lambda t: (-t.rows, t.ticker))
    return [t.ticker for t in others[:limit]]


def read_peers(home: Home, symbol: str, config: Config) -> dict[str, pd.DataFrame]:
    """The bars of each of :func:`peer_symbols` as the store reads them. Peers are read
    without their locks: each read is one consistent snapshot, and a peer's bars only
    teach the network (nothing of the peer is saved). A peer deleted meanwhile is left out."""
    out = {}
    for peer in peer_symbols(home, symbol, config):
        try:
            out[peer] = home.store.read(peer)
        except NoStoredData:  # deleted since it was listed: a peer less
            continue
    return out
