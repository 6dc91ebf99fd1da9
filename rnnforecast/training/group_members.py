"""The members of a global model: its group's name, the date split every member shares, and
each member's bars and windows under that split (see :mod:`rnnforecast.training.global_model`).

A global model pools the windows of its member tickers. The split is by calendar date: one
set of cut dates from the union of the members' window dates, so every member's test period
covers the same days. No TensorFlow; never prints or exits.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rnnforecast.config import DataConfig
from rnnforecast.data.tickers import GROUP_MAX, check_group
from rnnforecast.errors import DataError, UsageError
from rnnforecast.forecast.windows import (
    MIN_WINDOWS,
    Dataset,
    build_dataset,
    fingerprint,
    validation_pieces,
)
from rnnforecast.metrics import accuracy
from rnnforecast.training import fitting


def group_name(tickers: list[str], name: str | None = None) -> str:
    """The group of a global model: ``@NAME``, or ``@`` and the sorted symbols joined by
    ``+`` when no name is given. Raises UsageError for a bad name, or for symbols too many
    to make one (more than 60 characters joined)."""
    if name:
        return check_group(name)
    joined = "+".join(sorted(tickers))
    if len(joined) > GROUP_MAX:
        raise UsageError(
            f"the {len(tickers)} symbols joined make a group name of {len(joined)} characters, "
            f"more than {GROUP_MAX}: give the group a name"
        )
    return check_group(joined)


@dataclass(frozen=True)
class DateSplit:
    """Cut dates shared by every member, on the first target day of each window.

    Training windows: first target day <= ``train_end``; validation: in
    [``val_start``, ``val_end``], early-stopping up to ``stop_end`` and calibrating from
    ``calibration_start`` (:func:`rnnforecast.forecast.windows.validation_pieces`); test:
    >= ``test_start``. The refit trains on days <= ``refit_train_end`` and is calibrated on
    days >= ``refit_calibration_start`` (the last days, as many as calibrate the scored
    fit). Days are YYYY-MM-DD.
    """

    train_end: str
    val_start: str
    val_end: str
    test_start: str
    stop_end: str
    calibration_start: str
    refit_train_end: str
    refit_calibration_start: str

    @classmethod
    def plan(cls, days: np.ndarray, data: DataConfig) -> DateSplit:
        """Cut the sorted union ``days`` (datetime64, the first target days of every
        member's windows) as :class:`rnnforecast.forecast.windows.Split` cuts windows: the last
        ``test_fraction`` of days for test, the last ``val_fraction`` of the rest for
        validation, ``horizon - 1`` days dropped before each. Raises DataError if a part
        would be empty."""
        union = np.unique(np.asarray(days).astype("datetime64[D]"))
        gap = data.horizon - 1
        m = len(union)
        n_test = math.ceil(m * data.test_fraction) if m else 0
        usable = m - n_test - 2 * gap
        n_val = math.ceil(usable * data.val_fraction) if usable > 0 else 0
        n_train = usable - n_val
        n_stop, n_cal = validation_pieces(n_val, data)
        if m < MIN_WINDOWS or min(n_test, n_val, n_train, n_stop, n_cal) < 1:
            raise DataError(
                f"not enough data: the members' windows cover {m} days, too few for a "
                "train/validation/test split"
            )
        return cls(
            train_end=str(union[n_train - 1]),
            val_start=str(union[n_train + gap]),
            val_end=str(union[n_train + gap + n_val - 1]),
            test_start=str(union[m - n_test]),
            stop_end=str(union[n_train + gap + n_stop - 1]),
            calibration_start=str(union[n_train + gap + n_val - n_cal]),
            refit_train_end=str(union[m - n_cal - gap - 1]),
            refit_calibration_start=str(union[m - n_cal]),
        )

    def masks(self, first_target: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boolean (train, validation, test) masks over windows with first target days
        ``first_target`` ``(m,)`` datetime64."""
        day = np.asarray(first_target).astype("datetime64[D]")
        return (
            day <= np.datetime64(self.train_end),
            (day >= np.datetime64(self.val_start)) & (day <= np.datetime64(self.val_end)),
            day >= np.datetime64(self.test_start),
        )

    def pieces(
        self, first_target: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Boolean (early-stopping, calibration, refit training, refit calibration) masks
        over windows with first target days ``first_target`` ``(m,)`` datetime64."""
        day = np.asarray(first_target).astype("datetime64[D]")
        return (
            (day >= np.datetime64(self.val_start)) & (day <= np.datetime64(self.stop_end)),
            (day >= np.datetime64(self.calibration_start)) & (day <= np.datetime64(self.val_end)),
            day <= np.datetime64(self.refit_train_end),
            day >= np.datetime64(self.refit_calibration_start),
        )

    def to_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)


def pool(parts: list[Dataset]) -> Dataset:
    """The windows of ``parts`` one after another, as one Dataset."""
    return Dataset(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in _FIELDS))


_FIELDS = dataclasses.fields(Dataset)


@dataclass(frozen=True)
class GroupMember:
    """One member ticker's bars, windows and their parts under the shared split."""

    symbol: str
    frame: pd.DataFrame
    dataset: Dataset
    train: np.ndarray  # boolean masks over the member's windows
    val: np.ndarray
    test: np.ndarray
    stop: np.ndarray  # the pieces of DateSplit.pieces
    calibration: np.ndarray
    refit_train: np.ndarray
    refit_calibration: np.ndarray

    def part(self, which: str) -> Dataset:
        """The member's windows of ``which`` part: ``"train"``, ``"val"``, ``"test"`` or a
        piece (``"stop"``, ``"calibration"``, ``"refit_train"``, ``"refit_calibration"``)."""
        return self.dataset.select(getattr(self, which))

    @property
    def naive_scale(self) -> float | None:
        """In-sample naive MAE of the closes up to the last training target (MASE)."""
        last = self.dataset.target_dates[self.train][-1, -1]
        closes = self.frame.loc[: pd.Timestamp(last), "close"].to_numpy(dtype=np.float64)
        return accuracy.naive_scale(closes) if len(closes) >= 2 else None


def window_members(
    frames: dict[str, pd.DataFrame], data: DataConfig
) -> tuple[list[GroupMember], DateSplit]:
    """Window every member's bars (``frames``: symbol to bars, in the members' order), then
    split them all on the same dates. Raises DataError if a member has no window in a
    part."""
    symbols = list(frames)
    datasets = {s: build_dataset(frames[s], data) for s in symbols}
    split = DateSplit.plan(np.concatenate([d.target_dates[:, 0] for d in datasets.values()]), data)
    members = []
    for symbol in symbols:
        days = datasets[symbol].target_dates[:, 0]
        masks = (*split.masks(days), *split.pieces(days))
        names = ("training", "validation", "test", "early-stopping", "calibration")
        for name, mask in zip(names, masks, strict=False):  # the refit's: every window
            if not mask.any():
                raise DataError(
                    f"{symbol} has no {name} windows in the shared split "
                    f"({split.to_dict()}): its bars do not cover that period"
                )
        members.append(GroupMember(symbol, frames[symbol], datasets[symbol], *masks))
    return members, split


def partition(members: list[GroupMember]) -> fitting.Partition:
    """The windows of ``members`` pooled, part by part and piece by piece, as one ticker's
    are cut (:meth:`rnnforecast.training.fitting.Partition.of`)."""
    names = ("train", "val", "test", "stop", "calibration", "refit_train", "refit_calibration")
    every = pool([m.dataset for m in members])
    return fitting.Partition(every, *(pool([m.part(name) for m in members]) for name in names))


def pooled_period(part: Dataset) -> dict[str, Any]:
    """``{"start", "end", "n"}``: first and last first-target day (YYYY-MM-DD) and number of
    windows of ``part`` (pooled windows are not sorted by date)."""
    return fitting.summarise_period(np.sort(part.target_dates[:, 0]))


def combined_fingerprint(members: list[GroupMember]) -> str:
    """One sha256 of every member's symbol and bars, in the members' order."""
    digest = hashlib.sha256()
    for m in members:
        digest.update(f"{m.symbol}={fingerprint(m.frame)};".encode())
    return "sha256:" + digest.hexdigest()
