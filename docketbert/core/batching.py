"""Batching helpers shared by training, fine-tuning and inference: the ignored-label id, truncation, rows run
together or right-padded, and length-sorted batches cut by a token budget."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import torch

IGNORE_INDEX = -100
# The segment id of a packed row's padding (its real entries are numbered from 0). The loader's workers write it
# and the model's packed attention reads it; it lives here so that the workers need not import the model.
PAD_SEGMENT = -1


def truncate_entry(ids: np.ndarray, max_seq_len: int, sep_id: int) -> np.ndarray:
    """Cut an entry to `max_seq_len` tokens, keeping the [SEP] it ended with."""
    if len(ids) <= max_seq_len:
        return ids
    ids = ids[:max_seq_len].copy()
    ids[-1] = sep_id
    return ids


def flat_ids(rows: Sequence[Sequence[int] | np.ndarray], lengths: np.ndarray | None = None) -> np.ndarray:
    """The rows' token ids run together, int64, without a Python step per token (`lengths`: the rows' lengths, when
    known)."""
    if len(rows) and isinstance(rows[0], np.ndarray):
        return np.concatenate(rows).astype(np.int64, copy=False)
    count = int(lengths.sum()) if lengths is not None else sum(map(len, rows))
    return np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int64, count=count)


def pad_rows(
    rows: Sequence[Sequence[int] | np.ndarray], pad_id: int, multiple: int = 1
) -> tuple[torch.Tensor, torch.Tensor]:
    """(input_ids, attention_mask): rows right-padded to the longest, its length rounded up to `multiple`."""
    lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    width = -(-int(lengths.max()) // multiple) * multiple
    keep = np.arange(width)[None, :] < lengths[:, None]
    input_ids = np.full(keep.shape, pad_id, dtype=np.int64)
    input_ids[keep] = flat_ids(rows, lengths)  # row-major: each row's tokens, then the next row's
    return torch.from_numpy(input_ids), torch.from_numpy(keep.astype(np.int64))


def token_budget_batches(lengths: Sequence[int], budget: int, max_rows: int = 4096) -> list[list[int]]:
    """Indices sorted by length (longest first) cut into batches of rows x longest <= budget (one entry at least)."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches, current = [], []
    for i in order:
        width = lengths[current[0]] if current else lengths[i]
        if current and ((len(current) + 1) * width > budget or len(current) >= max_rows):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def by_token_count(lengths: Sequence[int], budget: int) -> list[list[int]]:
    """Consecutive length-sorted entries holding at most `budget` real tokens (one entry at least)."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches, current, total = [], [], 0
    for i in order:
        if current and total + lengths[i] > budget:
            batches.append(current)
            current, total = [], 0
        current.append(i)
        total += lengths[i]
    if current:
        batches.append(current)
    return batches
