"""Pictures for people: the test period and the loss curves, as a matplotlib Figure.

The Figure is built directly (``matplotlib.figure.Figure``, not pyplot) and saved through
the Agg canvas, so the process's backend is never switched: a notebook keeps its own, and
no window opens. matplotlib is imported inside the functions, so nothing else pays for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rnnforecast.errors import UsageError

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def is_png(path: Path) -> bool:
    """Whether ``path`` ends in .png (any case): the only format :func:`save_png` writes."""
    return Path(path).suffix.lower() == ".png"


def save_png(figure: Figure, path: Path) -> Path:
    """Save ``figure`` as a PNG at ``path`` through the Agg canvas (the process's
    matplotlib backend is left as it is). Raises UsageError if ``path`` does not end in
    .png or cannot be written."""
    path = Path(path)
    if not is_png(path):
        raise UsageError(f"a plot is saved as a PNG file: {path} does not end in .png")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=110)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def test_period_figure(
    ticker: str,
    dates: np.ndarray,
    actual: np.ndarray,
    forecast: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    naive: np.ndarray,
    training: dict[str, Any],
    level: float,
    shrink: float = 1.0,
) -> Figure:
    """Actual vs forecast vs naive (with the interval band) over the test period, and the
    training/validation loss per epoch, as a new Figure (not registered with pyplot, so
    it is freed with its last reference). All arrays are ``(m,)``; ``training`` is the
    manifest's training record (``loss``, ``val_loss``, ``best_epoch``); ``level`` the
    interval level in (0, 1); ``shrink`` the calibrated factor on the network's predicted
    move (0: naive).
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(11, 8), layout="constrained")
    top, bottom = fig.subplots(2, 1, gridspec_kw={"height_ratios": [3, 1.4]})
    top.fill_between(dates, low, high, color="tab:blue", alpha=0.18, label=f"{level:.0%} interval")
    top.plot(dates, actual, color="black", linewidth=1.2, label="actual close")
    top.plot(dates, forecast, color="tab:blue", linewidth=1.0, label="forecast")
    top.plot(
        dates,
        naive,
        color="tab:orange",
        linewidth=0.9,
        linestyle="--",
        label="naive (previous close)",
    )
    note = " (shrink 0: the forecast is the naive forecast)" if shrink == 0 else ""
    top.set_title(
        f"{ticker}: one-day-ahead forecasts on the test period; shrink {shrink:.2f}{note}"
    )
    top.set_ylabel("price")
    top.legend(loc="upper left")
    top.grid(alpha=0.3)

    loss, val_loss = training.get("loss", []), training.get("val_loss", [])
    epochs = np.arange(1, len(loss) + 1)
    bottom.plot(epochs, loss, marker="o", markersize=3, label="training loss")
    if val_loss:
        bottom.plot(epochs, val_loss, marker="o", markersize=3, label="validation loss")
    best = training.get("best_epoch")
    if best:
        bottom.axvline(best, color="tab:green", linestyle=":", label=f"kept epoch {best}")
    bottom.set_yscale("log")
    bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
    bottom.set_xlabel("epoch")
    bottom.set_ylabel("MSE (scaled)")
    bottom.legend(loc="upper right")
    bottom.grid(alpha=0.3)
    return fig


def replay_figure(
    ticker: str,
    dates: np.ndarray,
    actual: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    refit_dates: list[str],
    level: float,
) -> Figure:
    """The served interval at ``level`` over the replayed days with the closes, each refit
    date marked by a vertical line, as a new Figure (not registered with pyplot). ``dates``,
    ``actual``, ``low`` and ``high`` are ``(m,)``; ``refit_dates`` YYYY-MM-DD, the first day
    each refit served."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 5), layout="constrained")
    ax = fig.subplots()
    ax.fill_between(
        dates, low, high, color="tab:blue", alpha=0.2, step="mid", label=f"served {level:.0%}"
    )
    ax.plot(dates, actual, color="black", linewidth=1.1, label="close")
    for i, day in enumerate(refit_dates):
        ax.axvline(
            np.datetime64(day),  # type: ignore[arg-type]  # matplotlib converts dates
            color="tab:green",
            linewidth=0.7,
            linestyle=":",
            label="refit" if i == 0 else None,
        )
    ax.set_title(f"{ticker}: the replay of what would have been served, one day ahead")
    ax.set_ylabel("price")
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    return fig


def fan_figure(
    ticker: str,
    dates: np.ndarray,
    closes: np.ndarray,
    fan_dates: np.ndarray,
    quantiles: dict[str, np.ndarray],
    level: float,
) -> Figure:
    """The forecast fan after the stored closes, as a new Figure: ``dates`` and ``closes``
    ``(k,)`` the history drawn (about a year), ``fan_dates`` ``(H,)`` the forecast sessions,
    ``quantiles`` price quantiles ``(H,)`` by level key ("0.05" .. "0.95"); the bands are the
    central intervals the keys pair up into, darker inside, the median dashed."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 5), layout="constrained")
    ax = fig.subplots()
    ax.plot(dates, closes, color="black", linewidth=1.1, label="close")
    keys = sorted(quantiles, key=float)
    start_date, start_close = dates[-1:], closes[-1:]
    for i in range(len(keys) // 2):
        low, high = keys[i], keys[-1 - i]
        coverage = float(high) - float(low)
        ax.fill_between(
            np.concatenate([start_date, fan_dates]),
            np.concatenate([start_close, quantiles[low]]),
            np.concatenate([start_close, quantiles[high]]),
            color="tab:blue",
            alpha=0.15 + 0.1 * i,
            linewidth=0,
            label=f"{coverage:.0%}",
        )
    if "0.5" in quantiles:
        path = np.concatenate([start_close, quantiles["0.5"]])
        ax.plot(np.concatenate([start_date, fan_dates]), path, "--", color="tab:blue")
    ax.set_title(
        f"{ticker}: the forecast fan, {len(fan_dates)} sessions ahead ({level:.0%} served)"
    )
    ax.set_ylabel("price")
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    return fig
