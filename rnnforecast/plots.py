"""Pictures for people: the test period and the loss curves, drawn to a PNG file.

matplotlib is imported inside the function with the non-interactive Agg backend, so no
window opens and nothing else pays its import.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rnnforecast.errors import UsageError


def test_period(
    path: Path,
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
) -> Path:
    """Draw actual vs forecast vs naive (with the interval band) over the test period, and
    the training/validation loss per epoch, into ``path`` (PNG). All arrays are ``(m,)``;
    ``shrink`` is the calibrated factor on the network's predicted move (0: naive).

    Raises UsageError if ``path`` does not end in .png or cannot be written.
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise UsageError(f"--plot writes a PNG file: {path} does not end in .png")
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(11, 8), gridspec_kw={"height_ratios": [3, 1.4]}, layout="constrained"
    )
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
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        plt.close(fig)
    return path
