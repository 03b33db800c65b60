"""Streaming's shared memory on a machine that runs several jobs at once.

StreamingDataset keeps its state in POSIX shared memory named `/dev/shm/NNNNNN_<name>`, under a prefix number it
picks by scanning for the first free one, and beside it lock files `NNNNNN_<name>_filelock` in the temp folder.
On a shared machine two things go wrong with streaming's own tools:
- `streaming.base.util.clean_stale_shared_memory()` unlinks every such segment on the machine, the live ones of a run
  already training included;
- two datasets created at the same instant pick the same prefix (the scan and the creation are separate steps), and
  one of them dies with `FileExistsError`.

Here, instead:
- `clean_stale_segments` unlinks only the segments of prefixes that no live process has open or mapped (read from
  /proc), and those prefixes' lock files, so the prefix numbers of killed runs are reused;
- `registering()` wraps the creation of a StreamingDataset: the node's first process of a run takes a machine-wide
  `flock`, cleans, and holds it while every local process of the run registers its prefix. The kernel releases the
  lock when its holder dies, so a SIGKILLed run never blocks the next one.
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from tempfile import gettempdir

SHM_ROOT = Path("/dev/shm")
LOCK_NAME = "docketbert-streaming-registration.lock"
# streaming.base.constant.SHM_TO_CLEAN and its two file locks, written out so that cleaning does not import streaming.
SEGMENTS = (
    "locals",
    "barrier",
    "next_epoch",
    "cache_usage",
    "shard_states",
    "shard_access_times",
    "resume",
    "epoch_shape",
    "epoch_data",
)
FILELOCKS = ("barrier_filelock", "cache_filelock")
_SEGMENT = re.compile(r"^(\d{6})_(" + "|".join(SEGMENTS) + r")$")


def _streaming_segments(root: Path) -> dict[int, list[Path]]:
    """Streaming's segments under `root` that this user owns, by prefix number."""
    found: dict[int, list[Path]] = {}
    uid = os.getuid()
    try:
        entries = list(os.scandir(root))
    except OSError:
        return found
    for entry in entries:
        match = _SEGMENT.match(entry.name)
        if not match:
            continue
        try:
            owner = entry.stat(follow_symlinks=False).st_uid
        except OSError:
            continue
        if uid == 0 or owner == uid:
            found.setdefault(int(match.group(1)), []).append(Path(entry.path))
    return found


def segments_in_use(root: Path = SHM_ROOT) -> set[str]:
    """Names of the files under `root` that some process has mapped or open, as /proc shows them (the processes
    this user may read: all of them for root, this user's own otherwise, which are the only ones whose segments
    this user may unlink from the sticky /dev/shm)."""
    prefix = str(root).rstrip("/") + "/"
    used: set[str] = set()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/maps", encoding="utf-8", errors="replace") as maps:
                for line in maps:
                    at = line.find(prefix)
                    if at >= 0:
                        used.add(line[at + len(prefix) :].split(" (deleted)")[0].strip())
            fd_dir = f"/proc/{pid}/fd"
            for fd in os.listdir(fd_dir):
                try:
                    target = os.readlink(f"{fd_dir}/{fd}")
                except OSError:
                    continue
                if target.startswith(prefix):
                    used.add(target[len(prefix) :].split(" (deleted)")[0])
        except (FileNotFoundError, ProcessLookupError, PermissionError, NotADirectoryError):
            continue  # the process ended, or belongs to a user whose segments this one cannot unlink anyway
    return used


def clean_stale_segments(root: Path = SHM_ROOT, lock_dir: str | None = None) -> list[int]:
    """Unlink the streaming segments (and temp-folder lock files) of every prefix none of whose segments a live
    process holds; the prefixes of live runs, this machine's other jobs included, are left alone. Returns the
    prefix numbers cleaned."""
    lock_dir = lock_dir or gettempdir()
    by_prefix = _streaming_segments(root)
    used = segments_in_use(root)
    stale = [p for p, paths in by_prefix.items() if not any(path.name in used for path in paths)]
    # Lock files left by prefixes whose segments are already gone (a killed run's resource tracker unlinks the
    # segments, never the lock files): streaming skips such a prefix forever, so they are removed too.
    live = {p for p in by_prefix if p not in stale}
    lock_files = {}
    try:
        for entry in os.scandir(lock_dir):
            head, _, tail = entry.name.partition("_")
            if tail in FILELOCKS and len(head) == 6 and head.isdigit():
                lock_files.setdefault(int(head), []).append(Path(entry.path))
    except OSError:
        pass
    orphaned = [p for p in lock_files if p not in live and p not in by_prefix]
    for prefix in stale:
        for path in by_prefix[prefix]:
            path.unlink(missing_ok=True)
    for prefix in [*stale, *orphaned]:
        for path in lock_files.get(prefix, []):
            with suppress(OSError):
                if os.getuid() == 0 or path.stat().st_uid == os.getuid():
                    path.unlink(missing_ok=True)
    return sorted({*stale, *orphaned})


def _lock_path() -> Path:
    return (SHM_ROOT if SHM_ROOT.is_dir() else Path(gettempdir())) / LOCK_NAME


@contextmanager
def machine_lock() -> Iterator[None]:
    """An exclusive flock on the machine-wide registration lock file (created readable and writable by all)."""
    path = _lock_path()
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except PermissionError:
        fd = os.open(path, os.O_RDONLY)  # another user's file: flock works on a read-only descriptor too
    try:
        with suppress(OSError):
            os.fchmod(fd, 0o666)
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _local_rank() -> int:
    try:
        return int(os.environ.get("LOCAL_RANK", "0"))
    except ValueError:
        return 0


def _barrier() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


@contextmanager
def registering() -> Iterator[None]:
    """Around the creation of StreamingDatasets: local rank 0 takes the machine lock and cleans stale segments;
    every process of the run then creates its datasets while the lock is held (streaming's ranks each scan for the
    same prefix, so no other job may register in between), and the lock is released once all have."""
    if _local_rank() != 0:
        _barrier()
        yield
        _barrier()
        return
    with machine_lock():
        clean_stale_segments()
        _barrier()
        yield
        _barrier()
