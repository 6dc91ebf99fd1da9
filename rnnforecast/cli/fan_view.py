"""How the fans' per-horizon scores look on a terminal (``evaluate``'s ``risk.horizons`` and
the replay's ``horizons``): one table per horizon, the served fan first, then the network's
fan and every classical fan on the same origins, and the DM line."""

from __future__ import annotations

from typing import Any

from rnnforecast.cli.output import say
from rnnforecast.cli.tables import fmt, table

COLUMNS = ["fan", "IS 80%", "IS 95%", "cov 80%", "kupiec p", "cc p", "pinball", "crps", "qlike"]


def row(name: str, s: dict[str, Any]) -> list[Any]:
    """One fan's scores at one horizon, as a table row."""
    return [
        name,
        fmt(s["interval_score_80"], 2),
        fmt(s["interval_score_95"], 2),
        fmt(s["coverage_80"], 3),
        fmt(s["kupiec_p"], 3),
        fmt(s["christoffersen_cc_p"], 3),
        fmt(s["pinball"], 3),
        fmt(s["crps"], 3),
        fmt(s["qlike"], 3),
    ]


def fan_tables(horizons: dict[str, Any] | None, where: str) -> None:
    """A table per horizon of ``horizons`` (nothing without), titled with ``where`` (the
    days scored), and the served fan's DM line under each."""
    for h, block in (horizons or {}).items():
        rows = [] if block["served"] is None else [row("served", block["served"])]
        if block.get("network") is not None:
            rows.append(row("network", block["network"]))
        rows += [row(k, v) for k, v in block["baselines"].items()]
        share = ", ".join(f"{k} {v:.0%}" for k, v in block["share"].items())
        first: dict[str, Any] = block["served"] or next(iter(block["baselines"].values()), {})
        n = first.get("n", 0)
        plural = "" if h == "1" else "s"
        table(
            f"{h} session{plural} ahead, {where} ({n} origins)"
            + (f"; served: {share}" if share else ""),
            COLUMNS,
            rows,
        )
        dm = block["dm"]
        if block["served"] is not None:
            lags = "" if dm["lag"] is None else f" ({dm['lag']} lags)"
            say(
                f"{h} session{plural}: served vs best classical fan ({dm['against']}): one-sided "
                f"DM-HAC p {fmt(dm['p_value'], 3)}{lags}"
            )
