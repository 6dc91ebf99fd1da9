"""The command line's two streams: lines for people on stderr, one JSON line on stdout.

:func:`say` writes a line on stderr, :func:`emit_json` the command's JSON document on
stdout; :class:`GuardedStdout` turns a standard output that can no longer be written into
:class:`OutputLost`, which the exit policy (:mod:`rnnforecast.cli.exits`) ends with exit
code 141. The policy also asks :func:`owes_json` whether a failing command still owes its
``--json`` document, so that stdout holds exactly one.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def say(message: str) -> None:
    """One line for people, on stderr (if there is one: a closed stderr loses the line,
    not the exit code)."""
    try:
        sys.stderr.write(message.rstrip() + "\n")
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass


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


class _Document:
    """The JSON document of the command running: whether it asked for one (``--json``),
    and whether it has printed it already."""

    wanted = False
    written = False


def expect_json(wanted: bool) -> None:
    """A command starts: it asked for a JSON document or not, and has printed none yet."""
    _Document.wanted = wanted
    _Document.written = False


def owes_json() -> bool:
    """Whether the command running asked for JSON and has not printed its document."""
    return _Document.wanted and not _Document.written


def emit_json(payload: Any) -> None:
    """Print one JSON document on one line (no indent), so that ``--json >> run.jsonl``
    appends JSON Lines. A non-finite number becomes null, named in the document's
    ``warnings`` and in a warning line on stderr, so that strict parsers can read it."""
    from rnnforecast.jsonsafe import finite, warning_for

    payload, non_finite = finite(payload)
    if non_finite and isinstance(payload, dict):
        warning = warning_for(non_finite)
        payload["warnings"] = [*payload.get("warnings", []), warning]
        say(f"warning: {warning}")
    text = json.dumps(payload, allow_nan=False)
    _Document.written = True
    sys.stdout.write(text + "\n")
