"""Where the fits run, through the Python API: ``workers``, ``executor`` and ``address`` of
:func:`rnnforecast.api.train` and :func:`rnnforecast.api.run_nightly` (and the Forecaster's
methods) reach the core, which refuses a bad one before any work. Nothing is trained or
fetched here."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_overloads

import pytest
from conftest import TINY_CONFIG, make_prices

from rnnforecast import api
from rnnforecast.errors import UsageError

BAD = [
    ({"executor": "spark"}, "the executor must be one of local, ray; got 'spark'"),
    ({"address": "ray://head:10001"}, "an address is for the ray executor"),
    ({"workers": 0}, "workers must be at least 1, got 0"),
    ({"workers": -2, "executor": "ray"}, "workers must be at least 1, got -2"),
]


@pytest.fixture
def nightly(tmp_path: Path) -> Path:
    """A nightly config of one CSV ticker, AAA, with the tiny recipe."""
    make_prices(160, seed=5).to_csv(tmp_path / "aaa.csv")
    path = tmp_path / "nightly.toml"
    path.write_text(
        TINY_CONFIG + '\n[run]\ntickers = [{ ticker = "AAA", source = "csv", path = "aaa.csv" }]\n'
    )
    return path


Call = Callable[[Path, Path, dict[str, Any]], Any]

CALLS: dict[str, Call] = {
    "train": lambda home, config, kw: api.train("AAA", home=home, **kw),
    "train several": lambda home, config, kw: api.train(["AAA", "BBB"], home=home, **kw),
    "run_nightly": lambda home, config, kw: api.run_nightly(config, home=home, **kw),
    "Forecaster.train": lambda home, config, kw: api.Forecaster(home).train("AAA", **kw),
    "Forecaster.run_nightly": lambda home, config, kw: api.Forecaster(home).run_nightly(
        config, **kw
    ),
}


@pytest.mark.parametrize(("keywords", "message"), BAD, ids=lambda v: str(v))
@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_bad_pool_is_refused_before_any_work(
    name: str, keywords: dict[str, Any], message: str, nightly: Path, tmp_path: Path
) -> None:
    """The core's own check answers (so the keywords got there), before any bars are read
    or fetched: AAA was never stored in this home, and the nightly job fetched nothing."""
    home = tmp_path / "home"
    with pytest.raises(UsageError) as raised:
        CALLS[name](home, nightly, keywords)
    assert str(raised.value) == message
    assert api.list_tickers(home=home).empty


def test_a_group_trains_one_network_whatever_the_workers(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="a global model trains one network: no workers"):
        api.train(["AAA", "BBB"], group="PAIR", workers=2, home=tmp_path / "home")


def test_the_executor_keywords_are_in_every_signature() -> None:
    """``train`` (the implementation and each overload) and ``run_nightly`` take the
    keywords of ``train --workers N --executor E --address A`` and ``run``, defaults
    included."""
    assert len(get_overloads(api.train)) == 3
    for function in (api.train, *get_overloads(api.train), api.run_nightly):
        parameters = inspect.signature(function).parameters
        assert parameters["workers"].default == 1
        assert parameters["executor"].default == "local"
        assert parameters["address"].default is None
        assert parameters["workers"].kind is inspect.Parameter.KEYWORD_ONLY
    method = inspect.signature(api.Forecaster.run_nightly).parameters
    assert [method[n].default for n in ("workers", "executor", "address")] == [1, "local", None]
