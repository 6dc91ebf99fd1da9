"""rnnforecast: forecast daily stock prices with recurrent neural networks, honestly.

Importing this package is cheap: it pulls in neither pandas nor TensorFlow. The Python API
(:mod:`rnnforecast.api`: ``fetch``, ``train``, ``evaluate``, ``backtest``, ``predict``, ``replay``,
``run_nightly``, ``Forecaster``, ...) is importable from here and loads on first use.
"""

from __future__ import annotations

from typing import Any

from rnnforecast.version import __version__

# Names of rnnforecast.api offered here; importing it loads pandas, so it waits for first use.
_API = (
    "Backtest",
    "Evaluation",
    "Forecaster",
    "GroupEvaluation",
    "RnnForecastError",
    "backtest",
    "bars",
    "default_home",
    "evaluate",
    "fetch",
    "forget",
    "list_models",
    "list_tickers",
    "make_config",
    "plot_test_period",
    "predict",
    "promote",
    "replay",
    "run_nightly",
    "train",
)

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        from rnnforecast import api

        return getattr(api, name)
    raise AttributeError(f"module 'rnnforecast' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])
