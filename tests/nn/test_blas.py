"""numpy's BLAS on one thread during a forward pass over many windows: the same outputs as
on the process's threads, and the thread count given back after."""

from __future__ import annotations

import numpy as np
import pytest

from rnnforecast.config import Config
from rnnforecast.nn import blas, numpy_network
from rnnforecast.nn.numpy_network import NumpyNetwork


def network() -> NumpyNetwork:
    rng = np.random.default_rng(3)
    w = {
        "lstm_1/kernel": rng.normal(0, 0.3, (5, 128)),
        "lstm_1/recurrent_kernel": rng.normal(0, 0.3, (32, 128)),
        "lstm_1/bias": rng.normal(0, 0.1, (128,)),
        "dense/kernel": rng.normal(0, 0.3, (32, 32)),
        "dense/bias": rng.normal(0, 0.1, (32,)),
        "forecast/kernel": rng.normal(0, 0.3, (32, 1)),
        "forecast/bias": rng.normal(0, 0.1, (1,)),
    }
    return NumpyNetwork({k: v.astype(np.float32) for k, v in w.items()}, Config())


def test_one_thread_gives_the_count_back() -> None:
    before = blas.openblas_threads()
    if before is None:
        pytest.skip("numpy's BLAS is not an OpenBLAS this module finds")
    with blas.one_thread():
        assert blas.openblas_threads() == 1
    assert blas.openblas_threads() == before


def test_many_windows_give_the_outputs_of_the_process_threads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    net = network()
    x = np.random.default_rng(5).standard_normal((700, 50, 5)).astype(np.float32)
    before = blas.openblas_threads()
    if before is not None:
        blas.openblas_threads(2)
    try:
        monkeypatch.setattr(numpy_network, "ONE_BLAS_THREAD_FROM", 10**9)
        on_threads = net.predict(x)
        monkeypatch.setattr(numpy_network, "ONE_BLAS_THREAD_FROM", 64)
        on_one = net.predict(x)
        assert before is None or blas.openblas_threads() == 2
    finally:
        if before is not None:
            blas.openblas_threads(before)
    assert np.array_equal(on_one, on_threads)
