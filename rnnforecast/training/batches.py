"""The batch a fit trains with: ``train.batch_size``, or a smaller one when the parts are short.

The rule (:func:`choose`): the recipe's batch when every part of the split (training,
validation, test; for a walk-forward, every fold's; for a global model, the pooled parts)
holds at least one full batch of it. Otherwise the recipe's batch halved (128, 64, 32, 16),
ending at :data:`FLOOR`, and the largest of those that every part holds is used. A split
whose smallest part holds fewer windows than ``min(train.batch_size, FLOOR)`` is refused
(DataError naming the part and, where the rows are known, the rows needed).

An adapted batch takes the learning rate down with it (``train.learning_rate x used /
train.batch_size``: 0.001 at 32 for the default recipe's 0.004 at 128, the recipe as first
written): on the bundled GOOG sample cut to its last 504 and 756 rows the uncalibrated test
error was lower so in 5 of 6 runs, and on average at both lengths; calibrated, both fell
back to the naive forecast (docs/reports/short-histories.md).

With the default recipe (window 50, horizon 1, test 0.2, validation 0.1) the validation part is
always the smallest: the batch is 128 from 1,639 rows on, 64 from 839, 32 from 439, 16 from 239
(:func:`rows_for`); under 239 rows it refuses. At 504 rows (2 years) it trains on batches of
32: 326 training windows, 10 batches per epoch. Pure arithmetic; no TensorFlow.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rnnforecast.config import Config, DataConfig
from rnnforecast.errors import DataError
from rnnforecast.forecast.windows import Split

FLOOR = 16
"""Smallest batch the rule adapts down to (a recipe batch below it is never adapted)."""


@dataclass(frozen=True)
class Batch:
    """The batch a fit trains with: the recipe's ``train.batch_size``, the one ``used``, and
    why (``train --json``'s and the manifest's ``batch_size``)."""

    recipe: int
    used: int
    why: str

    @property
    def adapted(self) -> bool:
        return self.used != self.recipe

    def learning_rate(self, recipe: float) -> float:
        """The learning rate trained with: ``recipe`` scaled by ``used / recipe`` batch."""
        return recipe * self.used / self.recipe

    def to_dict(self) -> dict[str, Any]:
        return {"recipe": self.recipe, "used": self.used, "why": self.why}

    def apply(self, config: Config) -> Config:
        """``config`` training with the batch used and its learning rate (every other key
        unchanged)."""
        if not self.adapted:
            return config
        rate = self.learning_rate(config.train.learning_rate)
        train = dataclasses.replace(config.train, batch_size=self.used, learning_rate=rate)
        return dataclasses.replace(config, train=train)


def candidates(recipe: int) -> list[int]:
    """The batches tried, largest first: ``recipe``, halved while at least :data:`FLOOR`,
    then :data:`FLOOR` itself (``[128, 64, 32, 16]``, ``[100, 50, 25, 16]``); a recipe at or
    below the floor is the only candidate."""
    sizes = [recipe]
    while sizes[-1] // 2 >= FLOOR:
        sizes.append(sizes[-1] // 2)
    if sizes[-1] > FLOOR:
        sizes.append(FLOOR)
    return sizes


def smallest_parts(sizes: Iterable[Mapping[str, int]]) -> dict[str, int]:
    """Each part's fewest windows over several splits (walk-forward folds)."""
    least: dict[str, int] = {}
    for parts in sizes:
        for name, count in parts.items():
            least[name] = min(count, least.get(name, count))
    return least


def rows_for(batch: int, data: DataConfig) -> int:
    """The fewest rows whose split (``data``) gives every part at least ``batch`` windows."""
    return Split.rows_needed(batch, data)


def choose(
    sizes: Mapping[str, int],
    recipe: int,
    *,
    rate: float | None = None,
    where: str = "",
    rows: int | None = None,
    data: DataConfig | None = None,
) -> Batch:
    """The batch to train with when the parts hold ``sizes`` windows (``{"training": ...,
    "validation": ..., "test": ...}``) and the recipe's batch is ``recipe``: the largest of
    :func:`candidates` that every part holds; ``rate`` (``train.learning_rate``) is named in
    ``why`` with its scaled value. Raises DataError when even the smallest does
    not fit: ``where`` goes before the part's name (``"fold 2 of 3: "``); with ``rows`` and
    ``data`` (one ticker's split) the message names the rows needed."""
    smallest = min(sizes.values())
    for batch in candidates(recipe):
        if smallest >= batch:
            if batch == recipe:
                why = f"every part holds a batch of {recipe} (train.batch_size)"
            else:
                name = min(sizes, key=lambda part: sizes[part])
                why = (
                    f"the {name} part holds {smallest} windows, fewer than "
                    f"train.batch_size = {recipe}: the largest halving every part holds"
                )
                if rate is not None:
                    scaled = f"{rate:g} x {batch}/{recipe} = {rate * batch / recipe:g}"
                    why += f"; train.learning_rate scaled alike, {scaled}"
            return Batch(recipe, batch, why)
    least = min(recipe, FLOOR)
    name = min(sizes, key=lambda part: sizes[part])
    adapts = f", halved down to at most {FLOOR}" if recipe > FLOOR else ""
    remedy = "store more rows"
    if rows is not None and data is not None:
        remedy = f"store at least {rows_for(least, data)} rows (there are {rows})"
    raise DataError(
        f"{where}the {name} part holds {smallest} windows, fewer than the smallest batch, "
        f"{least} (train.batch_size = {recipe}{adapts}): {remedy}"
    )


def for_rows(rows: int, config: Config) -> tuple[Split, Batch]:
    """One ticker's split of ``rows`` bars and the batch it trains with. Raises DataError
    when the rows are too few for the split or the smallest batch."""
    split = Split.plan(rows, config.data)
    train = config.train
    batch = choose(
        split.sizes(), train.batch_size, rate=train.learning_rate, rows=rows, data=config.data
    )
    return split, batch
