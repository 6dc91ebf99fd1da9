"""What a user receives, said in words: whether the trained network shaped the price and the
range a command reports (its ``network_used``), for the tables of :mod:`rnnforecast.cli.render`;
the batch a fit trained on when it is not the recipe's (``train``, ``run``)."""

from __future__ import annotations

from typing import Any

from rnnforecast.cli.output import say


def say_batches(records: dict[str, dict[str, Any] | None]) -> None:
    """train, run: a line for each ``batch_size`` record (keyed by the text put before it)
    whose batch is not the recipe's (the rule of :mod:`rnnforecast.training.batches`);
    nothing for a recipe's batch kept or a failed ticker (None)."""
    for who, record in records.items():
        if record is not None and record["used"] != record["recipe"]:
            used, recipe = record["used"], record["recipe"]
            say(f"{who}batch {used}, not train.batch_size = {recipe}: {record['why']}")


def served_words(method: str, used: dict[str, bool] | None) -> str:
    """What a user receives, in words: 'price: naive (...); range: garch_t (...)', from a
    result's ``interval_method`` and ``network_used`` (None: a bundle that cannot say)."""
    if used is None:
        return f"range: {method}"
    price = "the network's move" if used["price"] else "naive, the last close"
    if not used["price"]:
        price += " (the network's move did not pass the gate)"
    if used["intervals"]:
        shaped = "the network's"
    elif method.startswith("naive_conformal"):
        shaped = "the last close ± conformal widths of trailing volatility; not the network's"
    elif ", " in method:  # a fan served by several methods, one per block of horizons
        shaped = "classical volatility models; not the network's"
    else:
        shaped = "a classical volatility model; not the network's"
    return f"price: {price}; range: {method} ({shaped})"


def used_dict(use: Any) -> dict[str, bool] | None:
    """A result's ``network_used`` (a NetworkUse or None) as its JSON dict."""
    return None if use is None else dict(use.to_dict())


def network_column(used: dict[str, Any] | None) -> str:
    """models: what the weights shape in what a run serves ('price, range', 'neither'; a
    global model's member by member)."""
    if used is None:
        return "-"
    if "price" not in used:
        return " ".join(f"{s}:{network_column(u)}" for s, u in used.items())
    shaped = [name for name, key in (("price", "price"), ("range", "intervals")) if used[key]]
    return ", ".join(shaped) or "neither"


def network_line(who: str, used: dict[str, bool] | None) -> str:
    """'the network shapes the scored fit's price: no; its served range: no'."""
    if used is None:
        return f"whether the network shapes {who}'s forecasts is not known"
    price, served = ("yes" if used[k] else "no" for k in ("price", "intervals"))
    return f"the network shapes {who}'s price: {price}; its served range: {served}"


def shrink_text(calibration: dict[str, Any]) -> str:
    """'shrink 0.00 (calibration edge over naive: p = 0.35)', a value per step."""
    text = "shrink " + ", ".join(f"{s:.2f}" for s in calibration["shrink"])
    p_values = calibration.get("shrink_p_value", [])
    if any(p is not None for p in p_values):
        shown = ", ".join("-" if p is None else f"{p:.2f}" for p in p_values)
        text += f" (calibration edge over naive: p = {shown})"
    return text
