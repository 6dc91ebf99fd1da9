"""numpy's BLAS on one thread while the numpy forward pass runs over many windows.

The recurrent step of :class:`rnnforecast.nn.numpy_network.NumpyNetwork` multiplies an
``(m, units)`` state by a ``(units, gates * units)`` kernel 50 times: products far too small
to pay for OpenBLAS's threads. Over every window of the GOOG sample (2,098) the pass took
0.10 s on one thread and 0.63 s on two, 1.1 s on a cold thread pool, on the shared 2-core
machine (``benchmarks/bench_train.py`` reports where train spends it). Each entry of a matrix
product is computed by the same kernel whatever the thread count, so the outputs are the
same bit for bit (checked on the sample at 97, 420, 2,098 and 3,000 windows).

Only the forward pass: arch's GARCH fits (scipy's optimiser on numpy's and scipy's BLAS)
are not the same on one thread as on two (GOOG's parameters moved by about 1e-8 of their
value with ``OPENBLAS_NUM_THREADS=1``), so they keep the process's threads.

Only numpy's own OpenBLAS (the library its wheels bundle) is switched, found once by its
exported thread functions; with another BLAS (Accelerate, MKL, a system library without
them) :func:`one_thread` changes nothing. The thread count is process-wide: it is restored
on leaving, and nothing else in rnnforecast calls BLAS while a forward pass runs.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

# (getter, setter) exported by the OpenBLAS builds numpy's wheels have shipped:
# scipy-openblas (numpy >= 2.0), then openblas64_ (numpy 1.x), then a plain build.
_SYMBOLS = (
    ("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
    ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
    ("openblas_get_num_threads", "openblas_set_num_threads"),
)


@functools.cache
def _openblas() -> tuple[Any, Any] | None:
    """The thread getter and setter of the OpenBLAS numpy loaded, or None if none is found."""
    root = Path(np.__file__).resolve().parent
    candidates = [*root.parent.glob("numpy.libs/*openblas*"), *root.glob(".libs/*openblas*")]
    for path in sorted(candidates):
        try:
            library = ctypes.CDLL(str(path))  # already loaded by numpy: the same handle
        except OSError:
            continue
        for get, set_ in _SYMBOLS:
            getter, setter = getattr(library, get, None), getattr(library, set_, None)
            if getter is not None and setter is not None:
                getter.restype, setter.argtypes = ctypes.c_int, [ctypes.c_int]
                return getter, setter
    return None


def openblas_threads(threads: int | None = None) -> int | None:
    """numpy's OpenBLAS thread count (None when none is found); with ``threads``, set to
    that many, and the count before returned."""
    found = _openblas()
    if found is None:
        return None
    getter, setter = found
    before = int(getter())
    if threads is not None:
        setter(threads)
    return before


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """numpy's OpenBLAS on one thread inside the block, its thread count restored after."""
    before = openblas_threads()
    if before is None or before == 1:
        yield
        return
    openblas_threads(1)
    try:
        yield
    finally:
        openblas_threads(before)
