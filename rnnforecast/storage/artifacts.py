"""Model bundles on disk: ``models/TICKER/RUN_ID/`` with the network, scalers and manifest.

A bundle is written into a hidden temporary folder beside its final place and renamed into
place only when complete; the ``current`` file (one line: a run id) is then replaced
atomically. A reader therefore sees either the old bundle or the new one, never half of one.
No pickle anywhere: the network is Keras' ``.keras`` file, scalers and manifest are JSON.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnforecast.errors import ModelError, NoModel
from rnnforecast.forecast.windows import Scalers
from rnnforecast.storage.manifest import Manifest

__all__ = ["Bundle", "Manifest", "ModelRepository", "Package", "new_run_id"]

SCHEMA_VERSION = 1
MODEL_FILE = "model.keras"
SCALERS_FILE = "scalers.json"
MANIFEST_FILE = "manifest.json"
MANIFEST_SUM_FILE = "manifest.sha256"
"""``sha256:<hex>`` of manifest.json's bytes, written with the bundle: an edited manifest
is refused, and so is a bundle without it (deleting it must not switch the check off)."""
WEIGHTS_FILE = "weights.npz"
LOG_FILE = "train.log"
CURRENT_FILE = "current"
GROUP_FILE = "group"
"""In a ticker's folder: the global model group (``@NAME``) that serves it, if any."""
_RUN_ID_RE = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{6}$")
_GROUP_RE = re.compile(r"^@[A-Z0-9][A-Z0-9.=+_\-]{0,59}$")


def new_run_id(now: dt.datetime | None = None) -> str:
    """A sortable, unique run id: UTC time to the second plus 6 random hex digits."""
    now = now or dt.datetime.now(dt.UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()


def _write_json(path: Path, payload: Any) -> None:
    """Write ``payload`` as strict JSON (non-finite numbers as null) and fsync it."""
    from rnnforecast.jsonsafe import finite

    with open(path, "w", encoding="utf-8") as handle:
        json.dump(finite(payload)[0], handle, indent=2, sort_keys=False, allow_nan=False)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Bundle:
    """A loaded bundle's description; the network itself is loaded on demand."""

    path: Path
    manifest: Manifest
    scalers: Scalers

    @property
    def run_id(self) -> str:
        return self.manifest.run_id

    @property
    def model_path(self) -> Path:
        return self.path / MODEL_FILE

    @property
    def weights_path(self) -> Path | None:
        """The numpy weights, if this bundle has them (and passed the numpy check)."""
        return self.path / WEIGHTS_FILE if WEIGHTS_FILE in self.manifest.files else None


@dataclass(frozen=True)
class Package:
    """A bundle made in memory by the process that trained it, for the process that owns
    the home to save: the run id, the files written beside the network (``files``: name
    to bytes, :data:`MODEL_FILE` among them), its scalers and its manifest (without
    ``files``: :meth:`ModelRepository.save` adds their checksums). Plain data, so it
    travels by pickle from a worker that never sees the home."""

    run_id: str
    files: dict[str, bytes]
    scalers: Scalers
    manifest: Manifest

    @classmethod
    def written_by(
        cls, run_id: str, write_model: Callable[[Path], None], scalers: Scalers, manifest: Manifest
    ) -> Package:
        """The package of what ``write_model(path)`` writes (the network at ``path``, other
        files beside it), written in a temporary folder of this machine and read back.
        Raises OSError if that folder cannot be written, ModelError if no network was."""
        with tempfile.TemporaryDirectory(prefix="rnf-bundle-") as tmp:
            write_model(Path(tmp) / MODEL_FILE)
            files = {p.name: p.read_bytes() for p in sorted(Path(tmp).iterdir()) if p.is_file()}
        if MODEL_FILE not in files:
            raise ModelError(f"run {run_id}: no {MODEL_FILE} was written")
        return cls(run_id, files, scalers, manifest)

    def write(self, model_path: Path) -> None:
        """Write the files into ``model_path``'s folder (a ``write_model`` of
        :meth:`ModelRepository.save`)."""
        for name, data in self.files.items():
            (model_path.parent / name).write_bytes(data)


class ModelRepository:
    """The bundles of every ticker under ``root`` (``HOME/models``)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def ticker_dir(self, ticker: str) -> Path:
        return self.root / ticker

    def save(
        self,
        ticker: str,
        run_id: str,
        write_model: Callable[[Path], None],
        scalers: Scalers,
        manifest: Manifest,
        promote: bool = True,
    ) -> Path:
        """Write a complete bundle atomically and (``promote``) point ``current`` at it.

        ``write_model(path)`` saves the network to ``path`` (and may write other files beside
        it). Checksums of every file are added to the manifest, so a load can tell a corrupt
        file. Returns the bundle's folder. The caller holds the ticker's lock: hidden
        staging or trash folders found here were left by a process killed while it held
        that lock, and are deleted.
        """
        folder = self.ticker_dir(ticker)
        folder.mkdir(parents=True, exist_ok=True)
        self._remove_leftovers(folder)
        staging = folder / f".tmp-{run_id}"
        final = folder / run_id
        staging.mkdir()
        try:
            write_model(staging / MODEL_FILE)
            _write_json(staging / SCALERS_FILE, scalers.to_dict())
            files = {p.name: sha256_file(p) for p in sorted(staging.iterdir()) if p.is_file()}
            _write_json(staging / MANIFEST_FILE, manifest.with_files(files).to_json())
            with open(staging / MANIFEST_SUM_FILE, "w", encoding="utf-8") as handle:
                handle.write(sha256_file(staging / MANIFEST_FILE) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            _fsync_dir(staging)
            os.rename(staging, final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        if promote:
            self.set_current(ticker, run_id)
        return final

    def save_package(self, ticker: str, package: Package, promote: bool = True) -> Path:
        """:meth:`save` of a bundle made in memory (by a worker, say); its folder."""
        return self.save(
            ticker, package.run_id, package.write, package.scalers, package.manifest, promote
        )

    @staticmethod
    def _remove_leftovers(folder: Path) -> list[str]:
        """Delete ``.tmp-RUN`` and ``.del-RUN`` folders (only a lock holder writes here, so
        any found by the holder belong to a dead one); return their names."""
        removed = []
        for path in folder.iterdir():
            if path.name.startswith((".tmp-", ".del-")) and path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path.name)
        return removed

    def set_current(self, ticker: str, run_id: str) -> None:
        """Point ``current`` at ``run_id`` by an atomic rename."""
        folder = self.ticker_dir(ticker)
        pointer = folder / CURRENT_FILE
        temporary = folder / f".{CURRENT_FILE}.{secrets.token_hex(4)}"
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(run_id + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, pointer)
        _fsync_dir(folder)
        if not ticker.startswith("@"):
            # The ticker's own model, promoted last, serves it rather than a global model.
            (folder / GROUP_FILE).unlink(missing_ok=True)

    def set_group(self, ticker: str, group: str) -> None:
        """Make the current model of ``group`` (``@NAME``) serve ``ticker`` (atomic write);
        the ticker's own next promotion undoes it."""
        folder = self.ticker_dir(ticker)
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / f".{GROUP_FILE}.{secrets.token_hex(4)}"
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(group + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, folder / GROUP_FILE)
        _fsync_dir(folder)

    def group_of(self, ticker: str) -> str | None:
        """The group (``@NAME``) whose model serves ``ticker``, or None."""
        pointer = self.ticker_dir(ticker) / GROUP_FILE
        try:
            group = pointer.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        if not _GROUP_RE.match(group):
            raise ModelError(f"{pointer}: does not name a group (found {group[:40]!r})")
        return group

    def members(self, group: str) -> list[str]:
        """The tickers, sorted, whose group pointer names ``group`` (``@NAME``): those its
        current model serves. A pointer that does not name a group is skipped."""
        if not self.root.is_dir():
            return []
        found = []
        for folder in sorted(self.root.iterdir()):
            pointer = folder / GROUP_FILE
            if folder.name.startswith((".", "@")) or not pointer.is_file():
                continue
            try:
                if pointer.read_text(encoding="utf-8").strip() == group:
                    found.append(folder.name)
            except (OSError, UnicodeDecodeError):
                continue
        return found

    def clear_group(self, ticker: str) -> None:
        """Delete ``ticker``'s group pointer (its own models, if any, serve it again); its
        folder goes too when nothing else is left in it."""
        folder = self.ticker_dir(ticker)
        (folder / GROUP_FILE).unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # not empty: the ticker's own runs
            folder.rmdir()

    def owner(self, ticker: str, run_id: str | None = None) -> str:
        """The folder name holding ``ticker``'s bundle ``run_id`` (default: current): its
        group's when a global model serves it and the run is not the ticker's own."""
        group = None if ticker.startswith("@") else self.group_of(ticker)
        if group is None:
            return ticker
        if run_id is None or not (self.ticker_dir(ticker) / run_id).is_dir():
            return group
        return ticker

    def current(self, ticker: str) -> str | None:
        """The run id ``current`` names, or None when the ticker has no model."""
        pointer = self.ticker_dir(ticker) / CURRENT_FILE
        try:
            with open(pointer, "rb") as handle:
                raw = handle.read(256)
        except FileNotFoundError:
            return None
        except OSError as exc:  # a directory, unreadable, ...
            raise ModelError(
                f"{pointer}: unreadable ({exc.strerror or exc}); delete it and train again, "
                "or point it at a run"
            ) from None
        try:
            run_id = raw.decode("ascii").strip()
        except UnicodeDecodeError:
            run_id = ""
        # The contents are not echoed: whatever the file holds is not for the terminal.
        if not _RUN_ID_RE.match(run_id):
            raise ModelError(
                f"{pointer}: does not name a run (it should hold one run id, such as "
                "20260101T120000Z-a1b2c3)"
            )
        return run_id

    def runs(self, ticker: str) -> list[str]:
        """Complete runs on disk for ``ticker``, oldest first (temporary folders excluded)."""
        folder = self.ticker_dir(ticker)
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if p.is_dir() and _RUN_ID_RE.match(p.name))

    def prune(self, ticker: str, keep: int) -> list[str]:
        """Keep ``keep`` runs: the current one and the newest others; delete the rest and
        return their run ids. Each folder is first renamed to a hidden name, so a reader
        never sees a half-deleted bundle under a run id."""
        current = self.current(ticker)
        others = [r for r in self.runs(ticker) if r != current]
        room = max(keep - (1 if current else 0), 0)
        doomed = others[: max(len(others) - room, 0)]
        folder = self.ticker_dir(ticker)
        for run_id in doomed:
            trash = folder / f".del-{run_id}"
            os.rename(folder / run_id, trash)
            shutil.rmtree(trash, ignore_errors=True)
        return doomed

    def forget_path(self, ticker: str) -> Path:
        """Where :meth:`forget` moves a ticker's folder before deleting it; a folder left
        there by an interrupted forget is deleted by the next one."""
        return self.root / f".forget-{ticker}"

    def forget(self, ticker: str) -> list[str]:
        """Delete every run of ``ticker`` and its ``current`` pointer; return the run ids.

        The ticker's folder is first renamed to :meth:`forget_path` in one step, so a reader
        sees either all the runs or none; a crash before the deletion finishes leaves only
        that hidden folder, which the next call removes.
        """
        folder, trash = self.ticker_dir(ticker), self.forget_path(ticker)
        runs = self.runs(ticker)
        if trash.exists():
            shutil.rmtree(trash)
        if folder.exists():
            os.rename(folder, trash)
            _fsync_dir(self.root)
        if trash.exists():
            shutil.rmtree(trash)
        return runs

    def load(self, ticker: str, run_id: str | None = None) -> Bundle:
        """Load the manifest and scalers of ``run_id`` (default: current), checking them.

        Raises NoModel (a ModelError) if no run is current, ModelError (with the path) if
        the run does not exist, a file is missing, truncated or altered (checksum), or the
        manifest's schema version is not one this version reads.
        """
        ticker = self.owner(ticker, run_id)
        if run_id is None:
            run_id = self.current(ticker)
            if run_id is None:
                raise NoModel(ticker)
        elif not _RUN_ID_RE.match(run_id):
            raise ModelError(
                f"no run {run_id!r} for {ticker} (run ids look like 20260101T120000Z-a1b2c3)"
            )
        path = self.ticker_dir(ticker) / run_id
        if not path.is_dir():
            raise ModelError(f"no run {run_id} for {ticker} (looked in {path})")
        _check_manifest_sum(path)
        document = _read_json(path / MANIFEST_FILE)
        if not isinstance(document, dict) or document.get("schema_version") != SCHEMA_VERSION:
            found = document.get("schema_version") if isinstance(document, dict) else None
            raise ModelError(
                f"{path / MANIFEST_FILE}: manifest schema version {found!r}, "
                f"this rnnforecast reads {SCHEMA_VERSION}"
            )
        files = document.get("files")
        if not isinstance(files, dict):
            raise ModelError(f"{path / MANIFEST_FILE}: manifest lists no files")
        for name, expected in files.items():
            file = path / name
            if not file.is_file():
                raise ModelError(f"{file}: missing")
            if sha256_file(file) != expected:
                raise ModelError(f"{file}: corrupt (checksum does not match the manifest)")
        manifest = Manifest.from_json(document, path / MANIFEST_FILE, ticker, run_id)
        scalers = Scalers.from_dict(_read_json(path / SCALERS_FILE))
        if len(scalers.features.data_min) != len(manifest.features):
            raise ModelError(
                f"{path / SCALERS_FILE}: {len(scalers.features.data_min)} feature scalers "
                f"for {len(manifest.features)} features"
            )
        return Bundle(path, manifest, scalers)


def _read_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise ModelError(f"{path}: missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: corrupt ({exc})") from None
    except OSError as exc:
        raise ModelError(f"{path}: unreadable ({exc.strerror or exc})") from None


def _check_manifest_sum(path: Path) -> None:
    """Compare manifest.json with its recorded checksum.

    Raises ModelError if the sidecar is missing (a deleted checksum would otherwise switch
    the check off), unreadable, or does not match.
    """
    sidecar = path / MANIFEST_SUM_FILE
    try:
        expected = sidecar.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise ModelError(
            f"{sidecar}: missing, so {MANIFEST_FILE} cannot be verified; train again to get a "
            "sound bundle (or restore the file from a backup)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"{sidecar}: unreadable ({exc})") from None
    manifest = path / MANIFEST_FILE
    if not manifest.is_file():
        raise ModelError(f"{manifest}: missing")
    if sha256_file(manifest) != expected:
        raise ModelError(
            f"{manifest}: edited or corrupt (checksum does not match {MANIFEST_SUM_FILE}); "
            "train again to get a sound bundle"
        )
