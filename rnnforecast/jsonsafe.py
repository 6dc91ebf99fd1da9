"""JSON that every parser reads: non-finite numbers become ``null``, and are reported.

Python's ``json`` writes NaN and Infinity by default, which strict parsers (JavaScript's,
jq's, Go's) refuse. A score can be non-finite for honest reasons (constant prices make the
naive forecast's error 0, so MASE divides by zero); the document then says ``null`` and
lists where, instead of being unreadable. Also the one reader of a bundle's saved JSON
records (:func:`read_record`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from rnnforecast.errors import ModelError

T = TypeVar("T")


def finite(payload: Any) -> tuple[Any, list[str]]:
    """A copy of ``payload`` (dicts, lists, tuples, scalars) with every NaN or infinite
    float replaced by None, and the dotted paths where that happened (``model.mase``,
    ``steps[0].naive.mape``)."""
    found: list[str] = []

    def walk(value: Any, path: str) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            found.append(path or "value")
            return None
        if isinstance(value, dict):
            return {k: walk(v, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [walk(v, f"{path}[{i}]") for i, v in enumerate(value)]
        if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
            return walk(value.item(), path)  # numpy scalars
        return value

    return walk(payload, ""), found


def warning_for(paths: list[str]) -> str:
    """One warning naming the non-finite values (the first few of them)."""
    shown = ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
    return f"not a finite number, written as null: {shown}"


def read_record(path: Path, parse: Callable[[Any], T], what: str) -> T | None:
    """``parse`` of the JSON document at ``path`` (a bundle's saved record), None if there is
    no such file. Raises ModelError naming ``path`` if it is unreadable, or ``what`` if
    ``parse`` refuses the document (ValueError, TypeError, KeyError; a JSONDecodeError is a
    ValueError)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: unreadable ({exc})") from None
    try:
        return parse(json.loads(text))
    except (ValueError, TypeError, KeyError, RecursionError) as exc:
        raise ModelError(f"{path}: not a valid {what} ({exc})") from None
