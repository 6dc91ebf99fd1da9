"""TensorFlow's thread pools in a worker process, sized before TensorFlow starts.

Importing this module imports nothing heavy: a pool pickles :func:`limit_threads` by name
and each worker runs it first, so TensorFlow is imported inside it.
"""

from __future__ import annotations

import os


def limit_threads(threads: int) -> None:
    """Worker initializer: ``threads`` for TensorFlow's intra-op pool (one inter-op thread),
    and its C++ start-up notices silenced unless the process asked for them. A worker that
    reused its TensorFlow keeps the pools it has."""
    # The variable is read once, when TensorFlow's runtime loads: it must be set first.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # a reused worker whose TensorFlow already started: keep its pools
        pass
