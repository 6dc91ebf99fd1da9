"""The command line's exit policy: every failure becomes one stderr line and an exit code.

:class:`App` is the Typer group the commands run in: our errors carry their exit code, outside
faults are translated by :mod:`rnnforecast.faults`, click's usage errors get 2, Ctrl-C 130, a
lost standard output 141, anything else is a bug (exit 1). With ``--json`` the error is also
one JSON document on stdout. The core's messages name no command or flag: :func:`hinted`
adds the one that cures the error. :func:`main` runs a command line and returns its exit code;
:func:`entry_point` owns the process (set up by :mod:`rnnforecast.cli.process`, stdout
guarded by :mod:`rnnforecast.cli.output`, a fast exit).
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any, NoReturn

import typer
from typer.core import TyperGroup

from rnnforecast.cli import process
from rnnforecast.cli.output import GuardedStdout, OutputLost, emit_json, expect_json, owes_json, say
from rnnforecast.errors import (
    INTERRUPTED,
    OUTPUT_LOST,
    HorizonOutOfRange,
    NoModel,
    NoStoredData,
    RnnForecastError,
)

DEBUG_ENV = "RNNFORECAST_DEBUG"


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
    if owes_json():
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

    def usage_message(self, exc: typer.TyperException) -> str:
        """Click's usage error as one line. A global option given after the command (click
        would hint "Possible options: --help") is told to come before it."""
        command = getattr(getattr(exc, "ctx", None), "command_path", "rnnforecast")
        name = getattr(exc, "option_name", None)
        globals_ = {opt: param for param in self.params for opt in param.opts}
        # By class name: typer carries its own copy of click's exceptions.
        unknown = type(exc).__name__ == "NoSuchOption"
        if unknown and name in globals_ and command != "rnnforecast":
            value = "" if getattr(globals_[name], "is_flag", False) else " ..."
            return (
                f"{name} is a global option: put it before the command, as in "
                f"'rnnforecast {name}{value} {command.split()[-1]} ...'"
            )
        return f"{exc.format_message()} (see '{command} --help')"

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        expect_json(wants_json(list(args) if args is not None else sys.argv[1:]))
        try:
            # Never click's standalone mode: its usage errors would print a panel and exit.
            code = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except typer.TyperException as exc:  # click's usage errors: one line, not a panel
            code = fail(getattr(exc, "exit_code", 2), self.usage_message(exc))
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
    home (:data:`rnnforecast.cli.process.CACHE_FOLDERS`, unless set). Once the command has
    returned and its output is flushed, the process ends at once with ``os._exit``: by then
    every file, database connection and worker pool is closed, and the interpreter's orderly
    teardown of numpy and pandas would add 0.1 to 0.25 s to every short command such as ``predict``.
    :func:`main` does none of this and returns.
    """
    argv = sys.argv[1:]
    loud = os.environ.get(DEBUG_ENV) == "1" or any(a in ("--verbose", "-v") for a in argv)
    process.claim(loud)
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
