"""The ``[run]`` table of a config file: the tickers of the nightly job, where their bars
come from and how fast they are fetched (``[run.fetch]``), read through
:func:`rnnforecast.config.read_table` like every other table.

A ``run`` config is a recipe (the tables of :func:`rnnforecast.config.load_config`) plus a
``[run]`` table; the ``[run]`` table becomes a :class:`~rnnforecast.config.RunConfig` whose
tickers carry their :class:`~rnnforecast.data.sources.Source`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rnnforecast.config import (
    Config,
    RunConfig,
    Text,
    TickerJob,
    choice,
    coerce,
    config_from_dict,
    read_table,
    read_toml,
)
from rnnforecast.data.throttle import RateLimit
from rnnforecast.errors import UsageError

if TYPE_CHECKING:
    from rnnforecast.data.sources import Source
    from rnnforecast.data.yahoo_source import YahooSource

SOURCES = ("yahoo", "csv", "sample")
"""The ``source`` of a ``run.tickers`` entry."""


def load_run_config(path: Path, yahoo: YahooSource | None = None) -> tuple[Config, RunConfig]:
    """Read a ``run`` config: the recipe tables plus a ``[run]`` table naming the tickers.

    Yahoo tickers are read through ``yahoo`` (None: a default :class:`YahooSource`), with
    the table's ``auto_adjust``. Raises UsageError if the file is missing, not valid TOML,
    or not a valid config.
    """
    from rnnforecast.data.yahoo_source import YahooSource

    raw = read_toml(path)
    if "run" not in raw:
        raise UsageError(f"config file {path} has no [run] table naming the tickers")
    run = _run_config(raw.pop("run"), Path(path).resolve().parent, yahoo or YahooSource())
    return config_from_dict(raw), run


@dataclass(frozen=True)
class _TickerEntry:
    """A ``run.tickers`` entry as written; ``path`` and ``date_format`` are a csv's."""

    ticker: str | None = None
    source: str = "yahoo"
    path: Path | None = None
    calendar: Text | None = None
    date_format: Text | None = None


def _run_config(raw: Any, folder: Path, yahoo: YahooSource) -> RunConfig:
    """Parse the ``[run]`` table; csv paths are relative to the config file's folder, Yahoo
    tickers read through ``yahoo`` with ``run.auto_adjust``."""
    plan: RunConfig = read_table("run", raw, RunConfig(), apart=("tickers", "fetch"))
    yahoo = dataclasses.replace(yahoo, auto_adjust=plan.auto_adjust)
    entries = raw["tickers"] if isinstance(raw.get("tickers"), list) else []
    jobs = (_ticker_job(f"run.tickers[{n}]", e, folder, yahoo) for n, e in enumerate(entries, 1))
    limit: RateLimit = read_table("run.fetch", raw.get("fetch", {}), RateLimit())
    return dataclasses.replace(plan, tickers=tuple(jobs), fetch=limit.check("run.fetch")).validate()


def _ticker_job(where: str, entry: Any, folder: Path, yahoo: YahooSource) -> TickerJob:
    """One ``run.tickers`` entry (a ticker, or a table) with the source it names."""
    from rnnforecast.data.sources import CsvSource, SampleSource

    if isinstance(entry, str):
        entry = {"ticker": entry}
    if not isinstance(entry, dict):
        raise UsageError(f"{where} must be a ticker or a table with ticker and source")
    job: _TickerEntry = read_table(where, entry, _TickerEntry())
    ticker = coerce(f"{where}.ticker", job.ticker, "str").upper()
    choice(f"{where}.source", job.source, SOURCES)
    if job.source == "csv" and job.path is None:
        raise UsageError(f"{where}: a csv source needs a path")
    for name in ("path", "date_format"):
        if getattr(job, name) is not None and job.source != "csv":
            raise UsageError(f"{where}: {name} is only for a csv source")
    source: Source = yahoo
    if job.path is not None:
        source = CsvSource(folder / job.path, job.date_format)
    elif job.source == "sample":
        source = SampleSource()
    return TickerJob(ticker, source, job.calendar)
