"""benchmarks/bench_served_split.py chooses on one half of the test days with the tool's rule
and scores the choice on the other, as docs/reports/served-intervals.md says. Hand-made per-day
losses, figures worked out by hand."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO

# benchmarks/ is not a package: import the script by its folder
sys.path.insert(0, str(REPO / "benchmarks"))
import bench_served_split as split


def _losses() -> split.Losses:
    a = np.array
    # what the rule chooses on: garch_t is the best baseline on the first half, ewma on the
    # second; the network loses to garch_t on the first half (DM p near 1) and beats ewma by
    # about 1 a day on the second (DM-HLN p about 3e-4)
    choose = {
        "model": a([5.0, 6.0, 5.0, 6.0, 1.0, 1.2, 0.9, 1.1]),
        "garch_t": a([2.0] * 4 + [3.0] * 4),
        "ewma": a([3.0] * 4 + [2.0] * 4),
    }
    # what a choice is scored on (log units): a different ranking, so that choosing on the
    # scores instead of ``choose`` would change the figures
    score = {
        "model": a([4.0] * 4 + [2.0] * 4),
        "garch_t": a([2.0] * 4 + [3.0] * 4),
        "ewma": a([3.0] * 4 + [1.0] * 4),
    }
    inside = {
        "model": a([True, False, False, True, True, True, True, True]),
        "garch_t": a([True] * 5 + [False] + [True] * 2),
        "ewma": a([False] * 4 + [True, True, False, True]),
    }
    return split.Losses(choose, score, inside, full_choice="ewma")


def test_choose_on_is_the_tools_rule() -> None:
    losses = _losses().choose
    method, p_value, best = split.choose_on(losses, slice(0, 4), 0.05)
    assert (method, best) == ("garch_t", "garch_t")
    assert p_value is not None and p_value > 0.99
    method, p_value, best = split.choose_on(losses, slice(4, 8), 0.05)
    assert (method, best) == ("model", "ewma")
    assert p_value is not None and p_value < 0.001
    # the same days with a stricter significance: the network is no longer served
    assert split.choose_on(losses, slice(4, 8), p_value / 2)[0] == "ewma"


def test_folds_score_each_choice_on_the_other_half() -> None:
    first, second = split.folds(_losses())
    # chosen on days 1-4 (garch_t), scored on days 5-8: garch_t 12, ewma 4 (the ex-post
    # best and the full-period choice), model 8
    assert (first.chosen_on, first.chosen, first.best, first.days) == (
        "first",
        "garch_t",
        "ewma",
        4,
    )
    assert first.sums == {"chosen": 12.0, "best": 4.0, "garch_t": 12.0, "model": 8.0, "full": 4.0}
    assert first.ratios == {"best": 3.0, "garch_t": 1.0, "model": 1.5, "full": 3.0}
    assert first.coverage == 0.75
    assert first.inside_full == 3  # the full-period choice, ewma, on days 5-8
    # chosen on days 5-8 (the network), scored on days 1-4: model 16, garch_t 8 (the best),
    # ewma 12
    assert (second.chosen, second.best, second.best_baseline) == ("model", "garch_t", "ewma")
    assert second.ratios == pytest.approx(
        {"best": 2.0, "garch_t": 2.0, "model": 1.0, "full": 16 / 12}, abs=1e-12
    )
    assert second.coverage == 0.5
    assert second.inside_full == 0


def test_pool_sums_the_scored_halves() -> None:
    pooled = split.pool(split.folds(_losses()))
    assert pooled["days"] == 8
    assert pooled["coverage_80"] == 5 / 8
    assert pooled["coverage_80_full"] == 3 / 8
    # chosen 12 + 16 = 28 over best 4 + 8, garch_t 12 + 8, model 8 + 16, full 4 + 12
    assert pooled["ratios"] == pytest.approx(
        {"best": 28 / 12, "garch_t": 28 / 20, "model": 28 / 24, "full": 28 / 16}, abs=1e-12
    )


def test_an_odd_count_of_days_scores_every_day_once() -> None:
    losses = _losses()
    cut = split.Losses(
        {k: v[:7] for k, v in losses.choose.items()},
        {k: v[:7] for k, v in losses.score.items()},
        {k: v[:7] for k, v in losses.inside.items()},
        "ewma",
    )
    first, second = split.folds(cut)
    # halves of 3 and 4 days: the first fold scores days 4-7, the second days 1-3
    assert (first.days, second.days) == (4, 3)
    assert first.sums["garch_t"] == 2.0 + 3.0 * 3
    assert second.sums["model"] == 12.0


def test_table_prints_a_written_result_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    written = tmp_path / "served-split.json"
    fold_dicts = [dataclasses.asdict(f) for f in split.folds(_losses())]
    written.write_text(json.dumps({"series": {"A": {"folds": fold_dicts}}}))
    split.table(written, untuned={"B"})
    lines = capsys.readouterr().out.splitlines()
    # the fold chosen on days 1-4 (DM p 1.000 with Newey-West's one lag at n = 4, 0.999
    # without), days 5-8 covered by garch_t 3 times, by ewma 3
    expected = "A first garch_t 1.000 ewma 4 0.750 0.750 3.0000 1.0000 1.5000 3.0000"
    assert lines[1].split() == expected.split()
    assert lines[3].split()[-7:] == "8 0.625 0.375 2.3333 1.4000 1.1667 1.7500".split()
    assert lines[3].startswith("A (both halves)")
    assert lines[4].startswith("pool all") and lines[4].split()[2:] == lines[3].split()[3:]
    # the fold chosen on the first half alone: the figures of lines[1] from "4" on
    assert lines[5].startswith("pool all chosen on first")
    assert lines[5].split()[5:] == lines[1].split()[5:]
    assert len(lines) == 6  # no untuned series: no untuned pools
