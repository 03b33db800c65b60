"""Reading the MDS shards written by data_prep/to_mds.py, and batching them for masked-language modelling."""

from __future__ import annotations
import itertools
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional
import numpy as np
import torch
from torch.utils.data import DataLoader
if TYPE_CHECKING:  # importing streaming takes ~8 s here: only `open_split` needs it, so inference and fine-tuning
    from streaming import StreamingDataset  # import this module without it
    from transformers import PreTrainedTokenizerBase


def is_remote(path: str) -> bool:
    return "://" in path


def open_split(path: str, split: str, local: Optional[str] = None, batch_size: Optional[int] = None,
               shuffle: bool = False, seed: int = 17) -> StreamingDataset:
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
    return StreamingDataset(remote=path, local=local, split=split, batch_size=batch_size, shuffle=shuffle,
                            shuffle_seed=seed)

