"""Price fans: quantiles of the cumulative log return 1 to 22 sessions ahead (see
:mod:`rnnforecast.risk.fans.interface`)."""
