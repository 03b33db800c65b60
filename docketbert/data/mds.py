"""Opening one split of the MDS shards that data_prep/to_mds.py writes, local or streamed from a remote.

Its samples carry `sample_id` (the sample's index in the split, StreamingDataset's global id) and `epoch` beside
the columns, so the MLM masks can be keyed on them (`docketbert.data.mlm.mask_tokens_keyed`): a pure function of
the sample, not of a generator that worker processes and resumption would each advance differently.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docketbert.core.object_store import is_remote
from docketbert.data.shared_memory import registering

if TYPE_CHECKING:  # streaming is slow to import: it is imported where a split is opened, not with this module
    from streaming import StreamingDataset


def _keyed_dataset_class() -> type:
    """StreamingDataset whose samples carry their `sample_id` and `epoch` (built on first use; streaming is slow to
    import). `_get_work` is where StreamingDataset's `__iter__`, in each worker, learns the epoch it iterates."""
    from streaming import StreamingDataset

    class KeyedStreamingDataset(StreamingDataset):
        _iter_epoch = 0

        def _get_work(self, epoch: int, sample_in_epoch: int) -> Any:
            self._iter_epoch = int(epoch)
            return super()._get_work(epoch, sample_in_epoch)

        def get_item(self, sample_id: int, retry: int = 7) -> Any:
            sample = super().get_item(sample_id, retry)
            return {**sample, "sample_id": int(sample_id), "epoch": self._iter_epoch}

        def __getstate__(self) -> dict[str, Any]:
            """Without the FileLocks streaming creates lazily once this process has read a shard or iterated (they
            hold thread locks, which do not pickle): a worker started by a fork server or spawned gets the rest and
            creates its own."""
            state = self.__dict__.copy()
            state.pop("_cache_filelock", None)
            barrier = state.get("_shared_barrier")
            if barrier is not None and "lock" in vars(barrier):
                barrier = copy.copy(barrier)
                del barrier.lock
                state["_shared_barrier"] = barrier
            return state

    KeyedStreamingDataset.__module__ = __name__
    KeyedStreamingDataset.__qualname__ = "KeyedStreamingDataset"
    return KeyedStreamingDataset


def _dataset_class() -> type:
    cls = globals().get("KeyedStreamingDataset")
    if cls is None:
        cls = globals()["KeyedStreamingDataset"] = _keyed_dataset_class()
    return cls


def __getattr__(name: str) -> Any:
    """`KeyedStreamingDataset` by name (also how pickle finds it for spawned workers)."""
    if name == "KeyedStreamingDataset":
        return _dataset_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_split(
    path: str,
    split: str,
    local: str | None = None,
    batch_size: int | None = None,
    shuffle: bool = False,
    seed: int = 17,
) -> StreamingDataset:
    """One split (a sub-folder) of an MDS dataset, local or streamed from a remote into the `local` cache.

    A plain filesystem path works as a remote too when `local` is given (it is then copied shard by shard)."""
    dataset_class = _dataset_class()
    if local is None and is_remote(path):
        raise ValueError(f"data.path {path!r} is remote: set data.local to a cache folder on local disk")
    if local is None and not (Path(path) / split / "index.json").exists():
        missing = Path(path) / split
        raise FileNotFoundError(f"no MDS split at {missing} (index.json missing): run data_prep/to_mds.py first")
    where = {"local": path} if local is None else {"remote": path, "local": local}
    with registering():  # other jobs on this machine neither lose their shared memory nor race for a prefix
        return dataset_class(**where, split=split, batch_size=batch_size, shuffle=shuffle, shuffle_seed=seed)
