"""The Python API forwards its keywords: generically, over every public function of
:mod:`rnnforecast.api` and every :class:`~rnnforecast.api.Forecaster` method, ``home`` is the
folder used (and no other) and ``lock_timeout`` is how long a held lock is waited for. The
lists of calls below are checked against the module's signatures, so a new function or
keyword cannot be left out silently."""

from __future__ import annotations

import inspect
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib
import pytest
from conftest import TINY_CONFIG, hold_lock, make_prices

from rnnforecast import api
from rnnforecast.errors import LockError

matplotlib.use("Agg")  # plot_test_period draws a figure; this process never shows one

pytestmark = pytest.mark.slow  # the fixture trains one tiny model


@pytest.fixture(scope="module")
def stocked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A home (never the test's RNNFORECAST_HOME) with AAA stored and one tiny model."""
    folder = tmp_path_factory.mktemp("forwarding")
    csv, config = folder / "aaa.csv", folder / "tiny.toml"
    make_prices(160, seed=5).to_csv(csv)
    config.write_text(TINY_CONFIG)
    nightly = folder / "nightly.toml"  # the nightly job of AAA alone, from the same file
    nightly.write_text(
        TINY_CONFIG + '\n[run]\ntickers = [{ ticker = "AAA", source = "csv", path = "aaa.csv" }]\n'
    )
    home = folder / "home"
    api.fetch("AAA", csv=csv, home=home)
    run_id = api.train("AAA", config, home=home).run_id
    return {"home": home, "csv": csv, "config": config, "nightly": nightly, "run_id": run_id}


Call = Callable[[dict[str, Any], dict[str, Any]], Any]

# One call per public function: (context, keywords) -> the call with those keywords added.
CALLS: dict[str, Call] = {
    "fetch": lambda c, kw: api.fetch("AAA", csv=c["csv"], replace=True, **kw),
    "list_tickers": lambda c, kw: api.list_tickers(**kw),
    "bars": lambda c, kw: api.bars("AAA", **kw),
    "forget": lambda c, kw: api.forget("AAA", **kw),
    "train": lambda c, kw: api.train("AAA", c["config"], **kw),
    "run_nightly": lambda c, kw: api.run_nightly(c["nightly"], **kw),
    "list_models": lambda c, kw: api.list_models("AAA", **kw),
    "promote": lambda c, kw: api.promote("AAA", c["run_id"], **kw),
    "evaluate": lambda c, kw: api.evaluate("AAA", **kw),
    "backtest": lambda c, kw: api.backtest("AAA", 1, **kw),
    "predict": lambda c, kw: api.predict("AAA", **kw),
    "plot_test_period": lambda c, kw: api.plot_test_period("AAA", **kw),
    # one refit date only: the replay's forwarding, not its cost, is under test here
    "replay": lambda c, kw: api.replay("AAA", every=100_000, **kw),
}
# The same through a Forecaster bound to the home (``home`` is then the constructor's).
METHODS: dict[str, Call] = {
    "fetch": lambda c, kw: api.Forecaster(c["home"]).fetch("AAA", csv=c["csv"], replace=True, **kw),
    "tickers": lambda c, kw: api.Forecaster(c["home"]).tickers(**kw),
    "bars": lambda c, kw: api.Forecaster(c["home"]).bars("AAA", **kw),
    "forget": lambda c, kw: api.Forecaster(c["home"]).forget("AAA", **kw),
    "train": lambda c, kw: api.Forecaster(c["home"]).train("AAA", c["config"], **kw),
    "run_nightly": lambda c, kw: api.Forecaster(c["home"]).run_nightly(c["nightly"], **kw),
    "models": lambda c, kw: api.Forecaster(c["home"]).models("AAA", **kw),
    "promote": lambda c, kw: api.Forecaster(c["home"]).promote("AAA", c["run_id"], **kw),
    "evaluate": lambda c, kw: api.Forecaster(c["home"]).evaluate("AAA", **kw),
    "backtest": lambda c, kw: api.Forecaster(c["home"]).backtest("AAA", 1, **kw),
    "predict": lambda c, kw: api.Forecaster(c["home"]).predict("AAA", **kw),
    "plot": lambda c, kw: api.Forecaster(c["home"]).plot("AAA", **kw),
    "replay": lambda c, kw: api.Forecaster(c["home"]).replay("AAA", every=100_000, **kw),
}
# Forecaster methods that stand for a function taking lock_timeout.
LOCKING_METHODS = {
    "fetch": "fetch",
    "train": "train",
    "run_nightly": "run_nightly",
    "promote": "promote",
    "forget": "forget",
}


def public_functions() -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(getattr(api, name))
        for name in api.__all__
        if inspect.isfunction(getattr(api, name))
    }


def with_keyword(keyword: str) -> list[str]:
    return sorted(n for n, sig in public_functions().items() if keyword in sig.parameters)


def test_the_calls_cover_every_public_function_and_method() -> None:
    """Every function taking ``home`` has a call here, and every public Forecaster method."""
    assert sorted(CALLS) == with_keyword("home")
    methods = {n for n, _ in inspect.getmembers(api.Forecaster, inspect.isfunction)}
    assert sorted(METHODS) == sorted(n for n in methods if not n.startswith("_"))


def own_copy(stocked: dict[str, Any], folder: Path) -> dict[str, Any]:
    home = folder / "elsewhere"
    shutil.copytree(stocked["home"], home)
    return {**stocked, "home": home}


@pytest.fixture(autouse=True)
def default_home_untouched() -> Any:
    """No call here may fall back on the user's own data folder (the API's default home)."""
    existed = api.default_home().exists()
    yield
    assert api.default_home().exists() == existed


@pytest.mark.parametrize("name", sorted(CALLS))
def test_home_is_the_folder_used(
    name: str, stocked: dict[str, Any], tmp_path: Path, home: Path
) -> None:
    """Called with ``home=``, the function works on that folder's bars and models: AAA and
    its model exist only there (the test's RNNFORECAST_HOME, ``home``, is never created)."""
    context = own_copy(stocked, tmp_path)
    CALLS[name](context, {"home": context["home"]})
    assert not home.exists()
    if name in ("fetch", "list_tickers"):  # these two would also work on an empty home
        listed = api.list_tickers(home=context["home"])
        assert listed["ticker"].tolist() == ["AAA"]
        assert listed["rows"].tolist() == [160]


@pytest.mark.parametrize("name", sorted(METHODS))
def test_a_forecaster_uses_its_own_home(
    name: str, stocked: dict[str, Any], tmp_path: Path, home: Path
) -> None:
    context = own_copy(stocked, tmp_path)
    METHODS[name](context, {})
    assert not home.exists()


WAIT = 0.6


def waited_for_lock(call: Callable[[], Any]) -> float:
    start = time.monotonic()
    with pytest.raises(LockError):
        call()
    return time.monotonic() - start


@pytest.mark.parametrize("name", with_keyword("lock_timeout"))
def test_lock_timeout_is_the_wait_for_a_held_lock(
    name: str, stocked: dict[str, Any], tmp_path: Path
) -> None:
    """With AAA's lock held by another process, the call gives up with LockError after
    ``lock_timeout`` seconds: not at once, and not after the default minute."""
    context = own_copy(stocked, tmp_path)
    holder = hold_lock(context["home"], "ticker-AAA")
    try:
        waited = waited_for_lock(
            lambda: CALLS[name](context, {"home": context["home"], "lock_timeout": WAIT})
        )
    finally:
        holder.kill()
        holder.wait()
    assert WAIT <= waited < WAIT + 10


@pytest.mark.parametrize(
    "name",
    [
        "fetch",
        "train",
        "run_nightly",
        "promote",
        "forget",
    ],
)
def test_a_forecaster_forwards_lock_timeout(
    name: str, stocked: dict[str, Any], tmp_path: Path
) -> None:
    assert sorted(LOCKING_METHODS.values()) == with_keyword("lock_timeout")
    context = own_copy(stocked, tmp_path)
    holder = hold_lock(context["home"], "ticker-AAA")
    try:
        waited = waited_for_lock(lambda: METHODS[name](context, {"lock_timeout": WAIT}))
    finally:
        holder.kill()
        holder.wait()
    assert WAIT <= waited < WAIT + 10
