"""Training's forward pass computes each input once (:class:`RememberedForward`): the same
outputs, bit for bit, and a copy each time, so no caller can change what another is given."""

from __future__ import annotations

import numpy as np

from rnnforecast.training.fitting import RememberedForward


class Counting:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.calls += 1
        out: np.ndarray = np.sum(x, axis=(1, 2), dtype=np.float32)[:, None] * 1.5
        return out


def test_an_input_seen_lately_is_not_computed_again() -> None:
    inner = Counting()
    forward = RememberedForward(inner)
    x = np.random.default_rng(0).standard_normal((30, 50, 5)).astype(np.float32)
    first = forward(x)
    again = forward(x.copy())  # equal values in another array
    assert inner.calls == 1
    assert np.array_equal(first, again) and first.dtype == again.dtype == np.float32
    again[:] = 0.0  # what a caller does with its copy changes nothing remembered
    assert np.array_equal(forward(x), first)
    assert inner.calls == 1


def test_other_values_shapes_and_dtypes_are_computed() -> None:
    inner = Counting()
    forward = RememberedForward(inner)
    x = np.random.default_rng(1).standard_normal((30, 50, 5)).astype(np.float32)
    forward(x)
    changed = x.copy()
    changed[7, 3, 2] = np.nextafter(changed[7, 3, 2], np.float32(np.inf))
    forward(changed)
    forward(x[:29])
    forward(x.astype(np.float64))
    forward(x[:, ::-1])  # not contiguous: compared by its values
    assert inner.calls == 5


def test_only_the_last_few_are_kept() -> None:
    inner = Counting()
    forward = RememberedForward(inner)
    inputs = [
        np.full((2, 3, 1), float(i), dtype=np.float32) for i in range(RememberedForward.SIZE + 1)
    ]
    for x in inputs:
        forward(x)
    forward(inputs[-1])
    assert inner.calls == RememberedForward.SIZE + 1
    forward(inputs[0])  # the oldest was let go
    assert inner.calls == RememberedForward.SIZE + 2
