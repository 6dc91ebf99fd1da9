"""The command line's exit policy: every failure becomes one stderr line and an exit code.

:class:`App` is the Typer group the commands run in: our errors carry their exit code, outside
faults are translated by :mod:`rnnforecast.faults`, click's usage errors get 2, Ctrl-C 130, a
lost standard output 141, anything else is a bug (exit 1). With ``--json`` the error is also
one JSON document on stdout. The core's messages name no command or flag: :func:`hinted`
adds the one that cures the error. :func:`main` runs a command line and returns its exit code;
:func:`entry_point` owns the process (quiet native stderr, guarded stdout, a fast exit).
This module and :mod:`rnnforecast.cli.render` are the CLI's; the core never imports them.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import typer
from typer.core import TyperGroup

from rnnforecast.errors import (
    INTERRUPTED,
    OUTPUT_LOST,
    HorizonOutOfRange,
    NoModel,
    NoStoredData,
    RnnForecastError,
)

DEBUG_ENV = "RNNFORECAST_DEBUG"


def say(message: str) -> None:
    """One line for people, on stderr (if there is one: a closed stderr loses the line,
    not the exit code)."""
    try:
        sys.stderr.write(message.rstrip() + "\n")
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass


ERROR_KINDS: dict[int, str] = {
    1: "internal",
    2: "usage",
    3: "data",
    4: "model",
    5: "source",
    6: "lock",
    7: "partial",
    8: "environment",
    INTERRUPTED: "interrupted",
    OUTPUT_LOST: "output",
}


class OutputLost(Exception):
    """Standard output cannot be written: closed, full, or its reader went away."""


class GuardedStdout:
    """Standard output whose write failures become :class:`OutputLost`, so the edge can
    tell them from a file the command failed to write."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return int(self._stream.write(text))
        except (OSError, ValueError, AttributeError) as exc:
            raise OutputLost(exc) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except (OSError, ValueError, AttributeError) as exc:
            raise OutputLost(exc) from None

    def isatty(self) -> bool:
        # A closed descriptor 1 leaves sys.stdout None: not a terminal, and the first write
        # then ends the command with 141 instead of failing here as a bug.
        try:
            return bool(self._stream.isatty())
        except (OSError, ValueError, AttributeError):
            return False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _Run:
    """What the edge needs to know about the command running: whether it asked for JSON,
    and whether it has printed its JSON document already."""

    json = False
    json_written = False
    owns_process = False  # set by entry_point: the process is the CLI's, not a notebook's


CACHE_FOLDERS = {"KERAS_HOME": "keras", "MPLCONFIGDIR": "matplotlib"}
"""Environment variables of the libraries that write to the user's home folder on import
(Keras: ~/.keras/keras.json; matplotlib: its font cache in ~/.cache/matplotlib), and their
folder under HOME/.cache."""


def caches_inside(home: Path) -> None:
    """Point Keras's and matplotlib's folders inside the rnnforecast ``home``, unless the
    user set the variables, when the process is the CLI's own (:func:`entry_point`): then
    nothing is written outside the home. Both libraries read them once, on import, so the
    root command calls this before any command imports them."""
    if not _Run.owns_process:
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


def hinted(error: RnnForecastError) -> str:
    """The error's line for a user of the command line: the core's message (which names no
    command or flag), plus the command or option that cures it where there is one."""
    if isinstance(error, NoStoredData):
        return f"{error}: run `rnnforecast fetch {error.ticker}` first"
    if isinstance(error, NoModel) and error.ticker.startswith("@"):  # a global model's group
        group = error.ticker[1:]
        return (
            f"{error}: train its tickers first, `rnnforecast train T1 T2 --global --name {group}`"
        )
    if isinstance(error, NoModel):
        return f"{error}: run `rnnforecast train {error.ticker}` first"
    if isinstance(error, HorizonOutOfRange):
        return (
            f"--horizon must be between 1 and {error.limit} for this {error.strategy} "
            f"model (trained for {error.trained} steps)"
        )
    return str(error)


def wants_json(args: list[str]) -> bool:
    words = args[: args.index("--")] if "--" in args else args
    return "--json" in words


def fail(code: int, message: str, prefix: str = "error") -> int:
    """One stderr line; with --json, also the error document on stdout (unless the command
    printed its own document already, so that stdout holds exactly one)."""
    say(f"{prefix}: {message}")
    if _Run.json and not _Run.json_written:
        kind = ERROR_KINDS.get(code, "internal")
        emit_json({"error": {"code": code, "kind": kind, "message": message}})
    return code


class App(TyperGroup):
    """Turns every failure into one stderr line and a documented exit code.

    Our errors carry their exit code; faults from outside (a read-only or full disk, a
    corrupt database, memory) are translated by :func:`rnnforecast.faults.translate`;
    usage errors (bad option, bad value) get 2; Ctrl-C 130; a lost standard output 141;
    anything else is a bug: exit 1, with the traceback only when RNNFORECAST_DEBUG=1.
    """

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except KeyboardInterrupt:  # typer versions differ here (Abort or a silent 130)
            raise typer.Exit(fail(INTERRUPTED, "interrupted")) from None
        except OutputLost:
            raise typer.Exit(OUTPUT_LOST) from None
        except Exception as exc:  # noqa: BLE001 - the last line of defence
            from rnnforecast.faults import translate

            known = translate(exc)
            if known is not None:
                raise typer.Exit(fail(known.exit_code, hinted(known))) from None
            if os.environ.get(DEBUG_ENV) == "1" or getattr(ctx.obj, "verbose", False):
                traceback.print_exc()
            message = f"{type(exc).__name__}: {exc} (a bug; set {DEBUG_ENV}=1 for the traceback)"
            raise typer.Exit(fail(1, message, prefix="internal error")) from None

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        _Run.json = wants_json(list(args) if args is not None else sys.argv[1:])
        _Run.json_written = False
        try:
            # Never click's standalone mode: its usage errors would print a panel and exit.
            code = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except typer.TyperException as exc:  # click's usage errors: one line, not a panel
            command = getattr(getattr(exc, "ctx", None), "command_path", "rnnforecast")
            code = fail(
                getattr(exc, "exit_code", 2), f"{exc.format_message()} (see '{command} --help')"
            )
        except typer.Abort as exc:
            if isinstance(exc.__cause__, KeyboardInterrupt):
                code = fail(INTERRUPTED, "interrupted")
            else:
                say("aborted")
                code = 1
        except OutputLost:
            code = OUTPUT_LOST
        code = code if isinstance(code, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code


def emit_json(payload: Any) -> None:
    """Print one JSON document. A non-finite number becomes null, named in the document's
    ``warnings`` and in a warning line on stderr, so that strict parsers can read it."""
    from rnnforecast.jsonsafe import finite, warning_for

    payload, non_finite = finite(payload)
    if non_finite and isinstance(payload, dict):
        warning = warning_for(non_finite)
        payload["warnings"] = [*payload.get("warnings", []), warning]
        say(f"warning: {warning}")
    text = json.dumps(payload, indent=2, allow_nan=False)
    _Run.json_written = True
    sys.stdout.write(text + "\n")


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


def main(app: typer.Typer, args: list[str] | None = None) -> int:
    """Run ``app`` on ``args`` (default: ``sys.argv[1:]``) and return its exit code. It
    never ends the process, so a notebook or another program may call it."""
    code = typer.main.get_command(app).main(
        args=args, prog_name="rnnforecast", standalone_mode=False
    )
    return code if isinstance(code, int) else 0


def entry_point(app: typer.Typer) -> NoReturn:
    """Console-script entry point (also ``python -m rnnforecast``): :func:`main`, then end.

    Sets up the process it owns once: TensorFlow's logging level and its native stderr
    silenced unless ``--verbose`` (or RNNFORECAST_DEBUG=1), standard output guarded so that
    a closed or full one ends with exit 141, Keras's and matplotlib's folders inside the
    home (:data:`CACHE_FOLDERS`, unless set). Once the command has returned and its output is
    flushed, the process ends at once with ``os._exit``: by then every file, database
    connection and worker pool is closed, and the interpreter's orderly teardown of numpy
    and pandas would add 0.1 to 0.25 s to every short command such as ``predict``.
    :func:`main` does none of this and returns.
    """
    _Run.owns_process = True
    argv = sys.argv[1:]
    loud = os.environ.get(DEBUG_ENV) == "1" or any(a in ("--verbose", "-v") for a in argv)
    if not loud:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        quiet_native_stderr()
    sys.stdout = GuardedStdout(sys.stdout)
    code = main(app)
    try:
        sys.stdout.flush()
    except OutputLost:  # the reader went away, or the disk is full: nothing more to say
        code = OUTPUT_LOST
    try:
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass
    os._exit(code)
