"""What the trained network's weights shape in what a bundle serves, and the names that follow.

A point-head bundle whose calibration keeps the naive forecast (every shrink factor 0, the
usual outcome of the shrinkage gate) serves the last close as its price, and its own interval
is that close times ``exp(± halfwidth × the trailing volatility of returns)``: split conformal
on the naive forecast's normalised residuals. No number of it depends on the weights, so it is
not the network's interval but a network-free one, named :data:`NAIVE_CONFORMAL`, and scored
as a baseline next to the volatility baselines. Only a calibration that keeps some of the
network's move (shrink > 0) or a distribution head (whose scale sets the widths) makes the
interval the network's (``conformal`` / ``rolling_conformal``).

``naive_conformal`` is a label of the bundle's own interval record, not an entry of
:data:`rnnforecast.risk.baselines.registry.REGISTRY`: its widths are the calibration's
conformal quantiles and adaptive scheme, fitted with the network's validation windows and
served by :func:`rnnforecast.forecast.calibration.forecast`; it has no parameters to fit from
bars alone, which is what a registry baseline is. Imports nothing of rnnforecast at run time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from rnnforecast.forecast.calibration import Calibration


class ServedRecord(Protocol):
    """What this module reads of a served-intervals record
    (:class:`rnnforecast.risk.interval_choice.IntervalRecord`, which imports this module)."""

    @property
    def serves_baseline(self) -> bool: ...


NAIVE_CONFORMAL = "naive_conformal"
"""The bundle's own interval when the weights shape neither its centre nor its widths."""


@dataclass(frozen=True)
class NetworkUse:
    """Whether the network's weights shaped the served ``price`` (point forecast) and the
    served ``intervals`` (their centre or widths)."""

    price: bool
    intervals: bool

    def to_dict(self) -> dict[str, bool]:
        return {"price": self.price, "intervals": self.intervals}


def network_use(
    calibration: Calibration, record: ServedRecord | None = None, steps: int | None = None
) -> NetworkUse:
    """What the weights shape in forecasts served with ``calibration`` and the interval
    ``record`` (None: a bundle saved before records, serving its own intervals), for the
    first ``steps`` forecast steps (default: the calibration's horizon; beyond it the last
    step's factor holds, as in :meth:`Calibration.step_values`).

    ``price``: some step's shrink factor is above 0 (0 serves the last close: the
    distribution head's location is shrunk the same way). ``intervals``: the bundle serves
    its own interval (not a baseline's) and either the distribution head's scale sets the
    widths or the interval is centred on a move the network shaped (point head, shrink > 0;
    the conformal widths were then fitted on that move's residuals).
    """
    shrink, _ = calibration.step_values(steps or len(calibration.shrink))
    price = bool((shrink > 0).any())
    own = record is None or not record.serves_baseline
    intervals = own and (calibration.head == "distribution" or price)
    return NetworkUse(price, intervals)


def own_interval_name(calibration: Calibration, steps: int | None = None) -> str:
    """The name of a bundle's own interval (not a baseline's): the network's ``conformal``
    (``rolling_conformal`` when the rolling scheme rescales its widths) if the weights
    shape it, else
    :data:`NAIVE_CONFORMAL` (adapted or not, as the calibration says)."""
    if not network_use(calibration, None, steps).intervals:
        return NAIVE_CONFORMAL
    return "conformal" if calibration.adaptive is None else "rolling_conformal"
