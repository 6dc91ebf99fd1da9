"""Nothing is written outside the rnnforecast home: Keras and matplotlib, which write to the
user's home folder on import, are pointed inside it by the CLI (unless the user chose)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TINY_CONFIG, make_prices

pytestmark = pytest.mark.slow  # trains a network in a subprocess

# Variables that would send the libraries' files elsewhere than under HOME by default.
PLACES = ("KERAS_HOME", "MPLCONFIGDIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "RNNFORECAST_HOME")


def rnnforecast(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rnnforecast", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_train_and_plot_write_nothing_in_the_users_home(tmp_path: Path) -> None:
    user_home, home = tmp_path / "user", tmp_path / "rnnforecast-home"
    user_home.mkdir()
    csv, config, plot = tmp_path / "p.csv", tmp_path / "tiny.toml", tmp_path / "plot.png"
    make_prices(300, seed=3).to_csv(csv)
    config.write_text(TINY_CONFIG)
    env = {k: v for k, v in os.environ.items() if k not in PLACES}
    env["HOME"] = str(user_home)
    for args in (
        ("fetch", "TEST", "--csv", str(csv)),
        ("train", "TEST", "--config", str(config), "--json"),
        ("evaluate", "TEST", "--plot", str(plot), "--json"),
    ):
        done = rnnforecast("--home", str(home), *args, env=env)
        assert done.returncode == 0, (args, done.stderr)
    json.loads(done.stdout)
    assert plot.stat().st_size > 0
    assert list(user_home.iterdir()) == []
    assert (home / ".cache" / "keras" / "keras.json").is_file()
    assert list((home / ".cache" / "matplotlib").glob("fontlist-*.json"))

    # A folder the user chose is kept.
    mine = tmp_path / "mine"
    done = rnnforecast(
        "--home",
        str(home),
        "evaluate",
        "TEST",
        "--plot",
        str(plot),
        env={**env, "MPLCONFIGDIR": str(mine)},
    )
    assert done.returncode == 0, done.stderr
    assert list(mine.glob("fontlist-*.json"))
    assert list(user_home.iterdir()) == []
