"""A numpy-only forward pass for the networks :func:`rnnforecast.nn.keras_network.build_model`
builds.

Predicting one window with Keras means importing TensorFlow (seconds) and tracing a graph;
this module reproduces the same arithmetic with numpy so that forecasting from a saved model
never loads TensorFlow. It must therefore not import TensorFlow or Keras, not even
indirectly: :func:`export_weights` is handed a Keras model and only reads its attributes.

The network is ``Input((window, n_features)) -> cell(units, activation) x layers ->
[Dropout] -> [Dense(dense_units, activation)] -> Dense(outputs)`` with Keras 3's defaults:
sigmoid recurrent activation, GRU with ``reset_after=True``, biases everywhere. Weights are
stored under these names (``i`` counts recurrent layers from 1, as in model.py)::

    {cell}_{i}/kernel            (n_in, gates * units)   n_in: n_features, then units
    {cell}_{i}/recurrent_kernel  (units, gates * units)
    {cell}_{i}/bias              (gates * units,)        GRU: (2, 3 * units)
    dense/kernel, dense/bias     (units, dense_units), (dense_units,)   if dense_units > 0
    forecast/kernel, forecast/bias  (dense_units or units, outputs), (outputs,)

where ``cell`` is ``lstm`` (gates 4, column blocks i, f, c, o), ``gru`` (gates 3, blocks
z, r, h; bias row 0 is the input bias, row 1 the recurrent bias) or ``simple_rnn`` (gates 1).
"""

from __future__ import annotations

import math
import os
import zipfile
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rnnforecast.errors import ModelError

if TYPE_CHECKING:
    from rnnforecast.config import Config

__all__ = ["NumpyNetwork", "export_weights", "load_weights", "save_weights"]

Array = np.ndarray
Activation = Callable[[Array], Array]

# TensorFlow's SELU constants (tf.nn.selu), to full double precision.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946

# numpy has no erfc; math.erfc is exact to the last bit and, element by element, still only
# ~10x slower than np.tanh. Only gelu networks pay for it.
_erfc = np.frompyfunc(math.erfc, 1, 1)


ONE_BLAS_THREAD_FROM = 64
"""Windows from which a forward pass runs numpy's BLAS on one thread
(:mod:`rnnforecast.nn.blas`: the same outputs, several times sooner)."""


def _sigmoid(x: Array) -> Array:
    # The tanh form cannot overflow (1 / (1 + exp(-x)) warns for x < -709).
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _elu(x: Array) -> Array:
    # expm1 of the clipped value: exact near 0 and no overflow warning for large positive x.
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0.0)))


def _selu(x: Array) -> Array:
    return _SELU_SCALE * np.where(x > 0, x, _SELU_ALPHA * np.expm1(np.minimum(x, 0.0)))


def _gelu(x: Array) -> Array:
    # keras.activations.gelu (what the name "gelu" resolves to) defaults to the exact,
    # erf-based GELU, unlike keras.ops.gelu whose default is the tanh approximation.
    # x * Phi(x) written with erfc: 1 + erf(x / sqrt(2)) cancels catastrophically for x << 0
    # (as TensorFlow's own implementation also avoids).
    if x.size == 0:
        return x.copy()
    return 0.5 * x * np.asarray(_erfc(x * -math.sqrt(0.5)), dtype=np.float64)


def _linear(x: Array) -> Array:
    return x


_ACTIVATIONS: dict[str, Activation] = {
    "relu": lambda x: np.maximum(x, 0.0),
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "linear": _linear,
    "elu": _elu,
    "selu": _selu,
    "gelu": _gelu,
    "swish": lambda x: x * _sigmoid(x),
}

# Keras resolves "swish" to its silu function, so that is the name a built layer reports.
_KERAS_ACTIVATION_NAMES = {"silu": "swish"}

_GATES = {"lstm": 4, "gru": 3, "simple_rnn": 1}
_KERAS_CELLS = {"LSTM": "lstm", "GRU": "gru", "SimpleRNN": "simple_rnn"}


# --------------------------------------------------------------------------- export / files


def _to_float32(variable: Any) -> Array:
    # Keras variables' __array__ predates numpy 2's copy keyword (a DeprecationWarning).
    value = variable.numpy() if hasattr(variable, "numpy") else variable
    return np.array(value, dtype=np.float32)


def _activation_name(function: Any) -> str:
    name = getattr(function, "__name__", repr(function))
    return _KERAS_ACTIVATION_NAMES.get(name, name)


def export_weights(keras_model: Any) -> dict[str, Array]:
    """The weights of a Keras network built by :func:`rnnforecast.nn.keras_network.build_model`.

    Returns float32 arrays named as in the module docstring (names follow layer order and
    type, not the Keras layer names). Raises :class:`ModelError` if the model has another
    shape: other layer types, mixed cell types, a recurrent layer after a dense one, or
    settings this module does not reproduce (no bias, non-sigmoid recurrent activation,
    GRU ``reset_after=False``, ``go_backwards``, ``stateful``, an activation outside
    :data:`rnnforecast.config.ACTIVATIONS`, a non-linear output layer).
    """
    recurrent: list[Any] = []
    dense: list[Any] = []
    for layer in keras_model.layers:
        kind = type(layer).__name__
        if kind in _KERAS_CELLS:
            if dense:
                raise ModelError(f"unsupported model: recurrent layer {layer.name!r} after Dense")
            recurrent.append(layer)
        elif kind == "Dense":
            dense.append(layer)
        elif kind not in ("InputLayer", "Dropout"):
            raise ModelError(f"unsupported model: layer {layer.name!r} of type {kind}")
    if len(keras_model.inputs) != 1 or len(keras_model.outputs) != 1:
        raise ModelError("unsupported model: expected one input and one output")
    if not recurrent or not 1 <= len(dense) <= 2:
        raise ModelError(
            f"unsupported model: expected recurrent layers then 1 or 2 Dense layers, got "
            f"{len(recurrent)} recurrent and {len(dense)} Dense"
        )
    kinds = {_KERAS_CELLS[type(layer).__name__] for layer in recurrent}
    if len(kinds) != 1:
        raise ModelError(f"unsupported model: mixed recurrent cells {sorted(kinds)}")
    cell_name = kinds.pop()

    arrays: dict[str, Array] = {}
    for i, layer in enumerate(recurrent, start=1):
        cell = layer.cell
        problems = []
        if _activation_name(cell.activation) not in _ACTIVATIONS:
            problems.append(f"activation {_activation_name(cell.activation)}")
        if cell_name != "simple_rnn":
            recurrent_activation = _activation_name(cell.recurrent_activation)
            if recurrent_activation != "sigmoid":
                problems.append(f"recurrent_activation {recurrent_activation}")
        if cell_name == "gru" and not cell.reset_after:
            problems.append("reset_after=False")
        if not cell.use_bias:
            problems.append("use_bias=False")
        if layer.go_backwards or layer.stateful:
            problems.append("go_backwards or stateful")
        if layer.return_sequences != (i < len(recurrent)):
            problems.append(f"return_sequences={layer.return_sequences}")
        if problems:
            raise ModelError(f"unsupported recurrent layer {layer.name!r}: {', '.join(problems)}")
        prefix = f"{cell_name}_{i}"
        arrays[f"{prefix}/kernel"] = _to_float32(cell.kernel)
        arrays[f"{prefix}/recurrent_kernel"] = _to_float32(cell.recurrent_kernel)
        arrays[f"{prefix}/bias"] = _to_float32(cell.bias)

    for layer, name in zip(dense, ["dense", "forecast"][2 - len(dense) :], strict=True):
        activation = _activation_name(layer.activation)
        if not layer.use_bias:
            raise ModelError(f"unsupported Dense layer {layer.name!r}: use_bias=False")
        if activation not in _ACTIVATIONS or (name == "forecast" and activation != "linear"):
            raise ModelError(f"unsupported Dense layer {layer.name!r}: activation {activation}")
        arrays[f"{name}/kernel"] = _to_float32(layer.kernel)
        arrays[f"{name}/bias"] = _to_float32(layer.bias)
    return arrays


def save_weights(path: os.PathLike[str] | str, arrays: Mapping[str, Array]) -> None:
    """Write ``arrays`` to an uncompressed ``.npz`` at exactly ``path`` (no suffix added).

    The file is written next to ``path`` and renamed over it, so a crash never leaves a
    half-written file under the final name. Raises ValueError for a non-numeric array (it
    could only be stored pickled, which :func:`load_weights` refuses) and OSError if the
    file cannot be written.
    """
    path = Path(path)
    # Any, not ndarray: to numpy's stubs a str-keyed dict could also fill savez's allow_pickle.
    checked: dict[str, Any] = {}
    for name, value in arrays.items():
        array = np.asarray(value)
        if array.dtype.kind not in "fiu":
            raise ValueError(f"weight {name!r} is not numeric (dtype {array.dtype})")
        checked[name] = array
    # Not tempfile.mkstemp: its 0600 mode would survive the rename (and importing tempfile
    # costs the fast forecast ~6 ms); "xb" refuses to clobber a concurrent writer's file.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        with open(tmp, "xb") as handle:
            np.savez(handle, **checked)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def load_weights(path: os.PathLike[str] | str) -> dict[str, Array]:
    """Read a ``.npz`` written by :func:`save_weights` into a name -> array dict.

    Never unpickles. Raises :class:`ModelError` naming ``path`` if the file is missing,
    unreadable, truncated, not an ``.npz`` archive, or holds pickled (object) arrays.
    """
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            # A bare .npy file loads as one array: a valid file, but not a weights file.
            raise ModelError(f"model weights file {path} is not an .npz archive")
        with loaded:
            # Members are read (and CRC-checked) lazily, so reading belongs inside the try.
            return {name: loaded[name] for name in loaded.files}
    except FileNotFoundError:
        raise ModelError(f"model weights file not found: {path}") from None
    except (OSError, ValueError, zipfile.BadZipFile, KeyError, EOFError, zlib.error) as exc:
        raise ModelError(f"model weights file {path} is corrupt or unreadable: {exc}") from None


# --------------------------------------------------------------------------- forward pass


class NumpyNetwork:
    """The forward pass of a Keras network from :func:`rnnforecast.nn.keras_network.build_model`.

    ``weights`` maps the names in the module docstring to arrays (as from
    :func:`export_weights` or :func:`load_weights`); ``config`` is the Config the network
    was built from (``config.model`` for its shape, ``config.data`` for window, feature
    count and ``outputs``: ``horizon`` for the direct strategy, 1 for the recursive one,
    twice that for the distribution head).
    Weights are copied to float64 once; all arithmetic is float64.

    Raises :class:`ModelError` if the weights do not fit the config: a name missing or
    unexpected, a shape that disagrees with units/layers/features/outputs, a non-float
    or non-finite array, or a cell/activation this module does not implement.
    """

    def __init__(self, weights: Mapping[str, Array], config: Config) -> None:
        m, d = config.model, config.data
        if m.cell not in _GATES:
            raise ModelError(f"unsupported model.cell {m.cell!r}")
        if m.activation not in _ACTIVATIONS:
            raise ModelError(f"unsupported model.activation {m.activation!r}")
        self.cell: str = m.cell
        self.window: int = d.window
        self.n_features: int = len(d.features)
        # The distribution head has two outputs per step (location, raw scale).
        self.outputs: int = config.network_outputs
        self._activation = _ACTIVATIONS[m.activation]

        gates, units = _GATES[m.cell], m.units
        bias_shape = (2, 3 * units) if m.cell == "gru" else (gates * units,)
        expected: dict[str, tuple[int, ...]] = {}
        for i in range(1, m.layers + 1):
            n_in = self.n_features if i == 1 else units
            expected[f"{m.cell}_{i}/kernel"] = (n_in, gates * units)
            expected[f"{m.cell}_{i}/recurrent_kernel"] = (units, gates * units)
            expected[f"{m.cell}_{i}/bias"] = bias_shape
        head_in = units
        if m.dense_units > 0:
            expected["dense/kernel"] = (units, m.dense_units)
            expected["dense/bias"] = (m.dense_units,)
            head_in = m.dense_units
        expected["forecast/kernel"] = (head_in, self.outputs)
        expected["forecast/bias"] = (self.outputs,)

        shape_of = (
            f"model.cell={m.cell}, units={units}, layers={m.layers}, dense_units="
            f"{m.dense_units}; {self.n_features} features; outputs={self.outputs}"
        )
        missing = [name for name in expected if name not in weights]
        if missing:
            raise ModelError(f"weights do not match the config ({shape_of}): missing {missing}")
        unexpected = sorted(set(weights) - set(expected))
        if unexpected:
            raise ModelError(
                f"weights do not match the config ({shape_of}): unexpected {unexpected}"
            )
        w: dict[str, Array] = {}
        for name, shape in expected.items():
            array = np.asarray(weights[name])
            if array.shape != shape:
                raise ModelError(
                    f"weights do not match the config ({shape_of}): {name!r} has shape "
                    f"{array.shape}, expected {shape}"
                )
            if array.dtype.kind != "f":
                raise ModelError(f"weight {name!r} is not a float array (dtype {array.dtype})")
            if not np.isfinite(array).all():
                raise ModelError(f"weight {name!r} holds NaN or infinite values")
            w[name] = array.astype(np.float64)

        self._layers = [
            (
                w[f"{m.cell}_{i}/kernel"],
                w[f"{m.cell}_{i}/recurrent_kernel"],
                w[f"{m.cell}_{i}/bias"],
            )
            for i in range(1, m.layers + 1)
        ]
        self._dense = (w["dense/kernel"], w["dense/bias"]) if m.dense_units > 0 else None
        self._forecast = (w["forecast/kernel"], w["forecast/bias"])
        self._step = {"lstm": self._lstm, "gru": self._gru, "simple_rnn": self._simple_rnn}[m.cell]

    def predict(self, x: Any) -> Array:
        """Forecasts ``(m, outputs)`` float32 (like Keras' ``predict``) for inputs
        ``(m, window, n_features)``; any real dtype is accepted, m may be 0.

        Raises :class:`ModelError` if ``x`` does not have that shape.
        """
        x = np.asarray(x)
        if x.ndim != 3 or x.shape[1:] != (self.window, self.n_features):
            raise ModelError(
                f"input has shape {x.shape}, the model expects (m, {self.window}, "
                f"{self.n_features})"
            )
        if len(x) < ONE_BLAS_THREAD_FROM:
            return self._forward(x)
        from rnnforecast.nn.blas import one_thread  # ctypes: not for predict's one window

        with one_thread():
            return self._forward(x)

    def _forward(self, x: Array) -> Array:
        # Time-major, so every step reads one contiguous (m, k) slice.
        seq = np.ascontiguousarray(np.asarray(x, dtype=np.float64).transpose(1, 0, 2))
        last = len(self._layers) - 1
        for index, (kernel, recurrent_kernel, bias) in enumerate(self._layers):
            seq = self._step(seq, kernel, recurrent_kernel, bias, index < last)
        out: Array = seq
        if self._dense is not None:
            out = self._activation(out @ self._dense[0] + self._dense[1])
        out = out @ self._forecast[0] + self._forecast[1]
        return out.astype(np.float32)

    # Each step function takes a time-major sequence (T, m, n_in) and returns the outputs
    # (T, m, units) if ``sequences`` else the final state (m, units). The input projection
    # of all T steps is one matmul outside the loop; only the recurrent one is sequential.

    def _lstm(
        self, seq: Array, kernel: Array, recurrent_kernel: Array, bias: Array, sequences: bool
    ) -> Array:
        act = self._activation
        steps, batch = seq.shape[:2]
        units = recurrent_kernel.shape[0]
        projected = seq @ kernel + bias
        h = np.zeros((batch, units))
        c = np.zeros((batch, units))
        outputs = np.empty((steps, batch, units)) if sequences else None
        for t in range(steps):
            z = projected[t] + h @ recurrent_kernel
            # One sigmoid over all four blocks is cheaper than three sliced calls; the
            # candidate block's sigmoid is simply unused.
            gate = _sigmoid(z)
            i, f, o = gate[:, :units], gate[:, units : 2 * units], gate[:, 3 * units :]
            c = f * c + i * act(z[:, 2 * units : 3 * units])
            h = o * act(c)
            if outputs is not None:
                outputs[t] = h
        return outputs if outputs is not None else h

    def _gru(
        self, seq: Array, kernel: Array, recurrent_kernel: Array, bias: Array, sequences: bool
    ) -> Array:
        act = self._activation
        steps, batch = seq.shape[:2]
        units = recurrent_kernel.shape[0]
        projected = seq @ kernel + bias[0]
        h = np.zeros((batch, units))
        outputs = np.empty((steps, batch, units)) if sequences else None
        for t in range(steps):
            x_t = projected[t]
            # reset_after=True: the reset gate scales the recurrent projection *including*
            # its bias, which is why Keras keeps the recurrent bias as a separate row.
            inner = h @ recurrent_kernel + bias[1]
            zr = _sigmoid(x_t[:, : 2 * units] + inner[:, : 2 * units])
            z, r = zr[:, :units], zr[:, units:]
            candidate = act(x_t[:, 2 * units :] + r * inner[:, 2 * units :])
            h = z * h + (1.0 - z) * candidate
            if outputs is not None:
                outputs[t] = h
        return outputs if outputs is not None else h

    def _simple_rnn(
        self, seq: Array, kernel: Array, recurrent_kernel: Array, bias: Array, sequences: bool
    ) -> Array:
        act = self._activation
        steps, batch = seq.shape[:2]
        projected = seq @ kernel + bias
        h = np.zeros((batch, recurrent_kernel.shape[0]))
        outputs = np.empty((steps, batch, h.shape[1])) if sequences else None
        for t in range(steps):
            h = act(projected[t] + h @ recurrent_kernel)
            if outputs is not None:
                outputs[t] = h
        return outputs if outputs is not None else h
