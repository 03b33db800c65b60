"""Composer checkpoints loaded safely, and autoresume that survives a broken checkpoint.

- Safe loading: Composer 0.32.1 loads every checkpoint with `torch.load(..., weights_only=False)`
  (`composer.utils.checkpoint._torch_load_with_validation`), so a planted `ep0-baN-rank0.pt` would run its code on
  autoresume. `safe_checkpoint_loading()` swaps that one function, while a Trainer is built, for one that loads
  with `weights_only=True` and an allowlist of the types Composer's state holds (`torch.serialization.safe_globals`).
  Before that, `prepare_autoresume` reads each candidate's pickle opcodes
  (`torch.serialization.get_unsafe_globals_in_checkpoint`, which runs nothing) and refuses one that names anything
  outside the allowlist: `UnsafeCheckpointError`, one line.
- Fallback: a checkpoint that is not a whole torch archive (truncated by a full disk, cut by a crash) is logged,
  moved aside as `<name>.corrupt`, and `latest-rank0.pt` is pointed at the newest checkpoint that is whole.
- Pruning: a process killed between writing a checkpoint and pruning the oldest leaves one too many; on resume the
  oldest beyond `save_num_checkpoints_to_keep` are removed.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import pickle
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from composer.core import Callback, State
from composer.loggers import Logger
from composer.utils import dist

log = logging.getLogger(__name__)

LATEST = "latest-rank0.pt"
_CHECKPOINT = re.compile(r"^ep(\d+)-ba(\d+)-rank0\.pt$")


class UnsafeCheckpointError(ValueError):
    """A checkpoint whose unpickling would construct objects outside the allowlist (it could run code)."""


def allowed_globals() -> list[Any]:
    """The classes and functions a Composer checkpoint of a docketbert run legitimately pickles, beyond torch's
    weights_only defaults (tensors, dicts, lists, numbers, strings, OrderedDict)."""
    import numpy as np
    from composer.core.precision import Precision
    from composer.core.time import Time, Timestamp, TimeUnit
    from torch.torch_version import TorchVersion

    allowed: list[Any] = [Precision, Time, Timestamp, TimeUnit, TorchVersion, np.dtype, np.ndarray]
    allowed += [np.dtypes.UInt32DType, np.dtypes.Int64DType, np.dtypes.Float64DType, np.dtypes.UInt64DType]
    core = getattr(np, "_core", None) or np.core
    allowed += [core.multiarray._reconstruct, core.multiarray.scalar]
    allowed += [datetime.timedelta, datetime.datetime]
    return allowed


def _names(objects: list[Any]) -> set[str]:
    return {f"{o.__module__}.{o.__qualname__}" for o in objects if hasattr(o, "__qualname__")}


def unsafe_globals(path: Path) -> list[str]:
    """Globals the checkpoint's pickle names that neither torch's weights_only defaults nor the allowlist allow.
    Reads the opcodes only; nothing from the file runs."""
    allowed = _names(allowed_globals())
    found = torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
    return [
        name for name in found if name not in allowed and name.replace("numpy.core.", "numpy._core.") not in allowed
    ]


def safe_load(path: str | Path, map_location: Any = "cpu") -> Any:
    """torch.load with weights_only=True and the allowlist: what every docketbert checkpoint load goes through."""
    with torch.serialization.safe_globals(allowed_globals()):
        return torch.load(path, map_location=map_location, weights_only=True)


@contextlib.contextmanager
def safe_checkpoint_loading() -> Iterator[None]:
    """While the context is open, Composer loads checkpoints with `safe_load` (Composer's own validation hook, if
    one is configured, still runs first)."""
    from composer.utils import checkpoint as composer_checkpoint

    original = composer_checkpoint._torch_load_with_validation

    def load(checkpoint_filepath: str | Path, map_location: str) -> Any:
        path = composer_checkpoint._ensure_valid_checkpoint(checkpoint_filepath)
        try:
            return safe_load(path, map_location=map_location)
        except pickle.UnpicklingError as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise UnsafeCheckpointError(
                f"checkpoint {checkpoint_filepath} refused by the safe loader: {first}"
            ) from None

    composer_checkpoint._torch_load_with_validation = load
    try:
        yield
    finally:
        composer_checkpoint._torch_load_with_validation = original


def checkpoint_order(names) -> list[str]:
    """The checkpoint file names among `names` (`ep{E}-ba{B}-rank0.pt`; others ignored), oldest first (by batch,
    then epoch)."""
    found = [(int(m.group(2)), int(m.group(1)), n) for n in names if (m := _CHECKPOINT.match(n))]
    return [n for _, _, n in sorted(found)]


def checkpoints(folder: Path) -> list[Path]:
    """The run's checkpoints (`ep{E}-ba{B}-rank0.pt`), oldest first (by batch)."""
    return [folder / n for n in checkpoint_order(p.name for p in folder.glob("ep*-ba*-rank0.pt") if p.is_file())]


def is_whole(path: Path) -> str | None:
    """None when `path` is a whole torch archive (every member's CRC checks out), else why not."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
            if bad is not None:
                return f"member {bad} fails its checksum"
            if not any(name.endswith("data.pkl") for name in archive.namelist()):
                return "no data.pkl in the archive"
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
        return f"{type(err).__name__}: {err}"
    return None


def prepare_autoresume(folder: str | Path, keep: int) -> Path | None:
    """Before a Trainer autoresumes from `folder`: move every broken checkpoint aside (`*.corrupt`, with a
    warning), refuse one with unsafe contents (UnsafeCheckpointError), point latest-rank0.pt at the newest whole
    checkpoint (or remove it when none is left), and prune the oldest beyond `keep` (-1 keeps all). Returns the
    checkpoint resumed from, or None."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    good: list[Path] = []
    for path in reversed(checkpoints(folder)):
        reason = is_whole(path)
        if reason is not None:
            aside = path.with_name(path.name + ".corrupt")
            log.warning("checkpoint %s does not load (%s): moved aside to %s", path, reason, aside.name)
            os.replace(path, aside)
            continue
        unsafe = unsafe_globals(path)
        if unsafe:
            raise UnsafeCheckpointError(
                f"checkpoint {path} would construct {', '.join(unsafe[:3])} when loaded (outside the allowlist of "
                "a Composer checkpoint): refusing to load it; delete it or move it out of the run"
            )
        good.append(path)
    latest = folder / LATEST
    newest = good[0] if good else None
    current = Path(os.readlink(latest)).name if latest.is_symlink() else None
    if newest is None:
        if latest.is_symlink() or latest.exists():
            latest.unlink()
        return None
    if current != newest.name:
        # latest-rank0.pt names a checkpoint that was moved aside, or lags behind the newest whole one.
        if current is not None and (folder / current).is_file():
            newest = folder / current  # Composer points it last: a newer file may be one a kill left half-noted
        else:
            if latest.is_symlink() or latest.exists():
                latest.unlink()
            latest.symlink_to(newest.name)
            log.warning("autoresume: %s points at %s", LATEST, newest.name)
    if keep > 0:
        for old in good[keep:]:
            log.info("pruning %s (save_num_checkpoints_to_keep=%d)", old.name, keep)
            old.unlink()
    return newest


def prune(folder: str | Path, keep: int, protected: set[str] = frozenset()) -> list[Path]:
    """Remove the oldest checkpoints beyond the newest `keep` (-1 keeps all), never the one latest-rank0.pt names
    nor one in `protected` (those Composer's saver still tracks and rotates itself). Returns the removed paths."""
    folder = Path(folder)
    if keep < 1 or not folder.is_dir():
        return []
    latest = folder / LATEST
    current = Path(os.readlink(latest)).name if latest.is_symlink() else None
    removed = []
    for old in reversed(checkpoints(folder)[:-keep] if len(checkpoints(folder)) > keep else []):
        if old.name == current or str(old) in protected or old.name in {Path(p).name for p in protected}:
            continue
        log.info("pruning %s (save_num_checkpoints_to_keep=%d)", old.name, keep)
        old.unlink(missing_ok=True)
        removed.append(old)
    return removed


class CheckpointPruner(Callback):
    """Keeps exactly `keep` checkpoints in a resumed run's folder. Composer's saver rotates only the checkpoints
    its own process wrote, so the ones a killed process left behind would stay forever; after each checkpoint and
    at the end of fit, the oldest beyond `keep` are removed (rank 0)."""

    def __init__(self, folder: str | Path, keep: int):
        self.folder, self.keep = Path(folder), keep

    def _prune(self, state: State) -> None:
        if dist.get_global_rank() != 0:
            return
        protected: set[str] = set()
        for callback in state.callbacks:
            protected |= {str(p) for p in getattr(callback, "saved_checkpoints", [])}
        prune(self.folder, self.keep, protected)

    def batch_checkpoint(self, state: State, logger: Logger) -> None:
        self._prune(state)

    def epoch_checkpoint(self, state: State, logger: Logger) -> None:
        self._prune(state)

    def fit_end(self, state: State, logger: Logger) -> None:
        self._prune(state)
