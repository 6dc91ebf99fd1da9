"""The process the command line owns: TensorFlow's native stderr quietened, and the folders
that Keras and matplotlib write on import kept inside the rnnforecast home.

Only :func:`rnnforecast.cli.exits.entry_point` claims the process (:func:`claim`); run from a
notebook or another program through :func:`rnnforecast.cli.exits.main`, the command line
leaves the process's environment and file descriptors alone.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

CACHE_FOLDERS = {"KERAS_HOME": "keras", "MPLCONFIGDIR": "matplotlib"}
"""Environment variables of the libraries that write to the user's home folder on import
(Keras: ~/.keras/keras.json; matplotlib: its font cache in ~/.cache/matplotlib), and their
folder under HOME/.cache."""


class _Process:
    owned = False  # set by claim: the process is the CLI's, not a notebook's


def claim(loud: bool) -> None:
    """The process is the command line's: :func:`caches_inside` may set its environment.
    Unless ``loud``, TensorFlow's C++ logging is turned down and its native stderr silenced
    (:func:`quiet_native_stderr`)."""
    _Process.owned = True
    if not loud:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        quiet_native_stderr()


def caches_inside(home: Path) -> None:
    """Point Keras's and matplotlib's folders inside the rnnforecast ``home``, unless the
    user set the variables, when the process is the CLI's own (:func:`claim`): then
    nothing is written outside the home. Both libraries read them once, on import, so the
    root command calls this before any command imports them."""
    if not _Process.owned:
        return
    for name, sub in CACHE_FOLDERS.items():
        folder = home.expanduser().absolute() / ".cache" / sub
        # A read-only home (predict, evaluate and models still serve from one) would make
        # matplotlib warn on stderr and leave a temporary folder behind on every run: the
        # library's own default folder is the lesser harm.
        if not os.environ.get(name) and _writable(folder):
            os.environ[name] = str(folder)


def _writable(folder: Path) -> bool:
    """Whether ``folder`` can be written, or created under its nearest existing parent."""
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    return folder.is_dir() and os.access(folder, os.W_OK)


def quiet_native_stderr() -> None:
    """Send file descriptor 2 to /dev/null, keeping Python's ``sys.stderr`` on the real one.

    TensorFlow's C++ runtime and absl write start-up notices straight to descriptor 2,
    past any Python setting; our own lines go through ``sys.stderr``, which keeps writing
    to a duplicate of the original descriptor. Child processes inherit the quiet one.
    """
    try:
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:  # no stderr at all: nothing to quieten
        return
    encoding = getattr(sys.stderr, "encoding", None) or "utf-8"
    sys.stderr = open(
        saved, "w", buffering=1, encoding=encoding, errors="backslashreplace", closefd=False
    )
    os.dup2(devnull, 2)
    os.close(devnull)
