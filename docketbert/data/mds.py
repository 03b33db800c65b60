"""Opening one split of the MDS shards that data_prep/to_mds.py writes, local or streamed from a remote."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # streaming is slow to import: it is imported where a split is opened, not with this module
    from streaming import StreamingDataset


def is_remote(path: str) -> bool:
    return "://" in path


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
    from streaming import StreamingDataset

    if local is None and is_remote(path):
        raise ValueError(f"data.path {path!r} is remote: set data.local to a cache folder on local disk")
    if local is None:
        if not (Path(path) / split / "index.json").exists():
            raise FileNotFoundError(
                f"no MDS split at {Path(path) / split} (index.json missing): run data_prep/to_mds.py first"
            )
        return StreamingDataset(local=path, split=split, batch_size=batch_size, shuffle=shuffle, shuffle_seed=seed)
    return StreamingDataset(
        remote=path, local=local, split=split, batch_size=batch_size, shuffle=shuffle, shuffle_seed=seed
    )
