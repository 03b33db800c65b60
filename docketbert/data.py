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

IGNORE_INDEX = -100


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


def mask_tokens(input_ids: torch.Tensor, maskable: torch.Tensor, probability: float, mask_id: int,
                vocab_size: int, generator: Optional[torch.Generator] = None) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT masking: pick `probability` of the maskable positions; of those, 80% become [MASK], 10% a random
    token, 10% stay. Returns (masked input ids, labels with IGNORE_INDEX at unpicked positions)."""
    probs = torch.where(maskable, probability, 0.0)
    picked = torch.bernoulli(probs, generator=generator).bool()
    labels = torch.where(picked, input_ids, IGNORE_INDEX)
    to_mask = picked & torch.bernoulli(torch.full_like(probs, 0.8), generator=generator).bool()
    to_random = picked & ~to_mask & torch.bernoulli(torch.full_like(probs, 0.5), generator=generator).bool()
    random_ids = torch.randint(vocab_size, input_ids.shape, generator=generator, dtype=input_ids.dtype)
    masked = torch.where(to_mask, mask_id, input_ids)
    masked = torch.where(to_random, random_ids, masked)
    return masked, labels


def labelled_positions(labels: torch.Tensor, multiple: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """Where a batch carries labels, for an MLM head that runs only there without asking the device.

    Returns (positions, labels), both 1-D: the labelled positions as indices into the flattened (B * L) batch, in
    row-major order (boolean indexing's), then index 0 with label IGNORE_INDEX up to a multiple of `multiple`.
    Computed on the host by the collator, so the model gathers exactly these rows with a known count instead of
    `hidden[labels != IGNORE_INDEX]`, whose size the host must wait for on a GPU. The indices belong to this batch:
    a batch cut into micro-batches needs them again per piece (`docketbert.packing.split_packed_batch`)."""
    flat = labels.flatten()
    positions = (flat != IGNORE_INDEX).nonzero().flatten()
    pad = -len(positions) % multiple
    return (torch.cat([positions, positions.new_zeros(pad)]),
            torch.cat([flat[positions], flat.new_full((pad,), IGNORE_INDEX)]))


def truncate_entry(ids: np.ndarray, max_seq_len: int, sep_id: int) -> np.ndarray:
    """Cut an entry to `max_seq_len` tokens, keeping the [SEP] it ended with."""
    if len(ids) <= max_seq_len:
        return ids
    ids = ids[:max_seq_len].copy()
    ids[-1] = sep_id
    return ids


def flat_ids(rows: Sequence[Sequence[int] | np.ndarray], lengths: np.ndarray | None = None) -> np.ndarray:
    """The rows' token ids run together, int64, without a Python step per token (`lengths`: the rows' lengths, when
    known). For 100k entries in GPU-sized batches: 0.22 s against 0.58 s through torch.tensor of a list, and pad_rows
    0.24 s against 1.79 s row by row (bench/host_batching.py)."""
    if len(rows) and isinstance(rows[0], np.ndarray):
        return np.concatenate(rows).astype(np.int64, copy=False)
    count = int(lengths.sum()) if lengths is not None else sum(map(len, rows))
    return np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int64, count=count)


def pad_rows(rows: Sequence[Sequence[int] | np.ndarray], pad_id: int,
             multiple: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """(input_ids, attention_mask): rows right-padded to the longest, its length rounded up to `multiple`."""
    lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    width = -(-int(lengths.max()) // multiple) * multiple
    keep = np.arange(width)[None, :] < lengths[:, None]
    input_ids = np.full(keep.shape, pad_id, dtype=np.int64)
    input_ids[keep] = flat_ids(rows, lengths)  # row-major: each row's tokens, then the next row's
    return torch.from_numpy(input_ids), torch.from_numpy(keep.astype(np.int64))


@dataclass
class MLMCollator:
    """Pads a list of MDS samples to the batch's longest entry (rounded up to a multiple) and masks them."""

    pad_id: int
    mask_id: int
    sep_id: int
    special_ids: tuple[int, ...]
    vocab_size: int
    mlm_probability: float = 0.3
    max_seq_len: int = 768
    pad_to_multiple_of: int = 8
    # Eval: masks that depend only on the batch's content, so every evaluation scores the same masked tokens.
    deterministic: bool = False

    @classmethod
    def for_tokenizer(cls, tokenizer: PreTrainedTokenizerBase, **kwargs: Any) -> "MLMCollator":
        return cls(pad_id=tokenizer.pad_token_id, mask_id=tokenizer.mask_token_id, sep_id=tokenizer.sep_token_id,
                   special_ids=tuple(tokenizer.all_special_ids), vocab_size=len(tokenizer), **kwargs)

    def __call__(self, samples: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        rows = [truncate_entry(np.asarray(s["input_ids"], dtype=np.int64), self.max_seq_len, self.sep_id)
                for s in samples]
        input_ids, attention_mask = pad_rows(rows, self.pad_id, self.pad_to_multiple_of)
        maskable = attention_mask.bool() & ~torch.isin(input_ids, torch.tensor(self.special_ids))
        generator = None
        if self.deterministic:
            generator = torch.Generator().manual_seed(zlib.crc32(input_ids.numpy().tobytes()))
        masked, labels = mask_tokens(input_ids, maskable, self.mlm_probability, self.mask_id, self.vocab_size,
                                     generator)
        return {"input_ids": masked, "attention_mask": attention_mask, "labels": labels}


def count_real_tokens(batch: dict[str, torch.Tensor]) -> int:
    """Tokens that are not padding: what throughput is honestly measured in."""
    return int(batch["attention_mask"].sum())


def build_dataloader(dataset: StreamingDataset, collator: MLMCollator, batch_size: int, num_workers: int = 0,
                     drop_last: bool = False, pin_memory: bool = False) -> DataLoader:
    """`pin_memory` (training on a GPU): batches in page-locked memory, so their copy to the device (Composer's,
    non-blocking) does not hold up the host."""
    return DataLoader(dataset, batch_size=batch_size, collate_fn=collator, num_workers=num_workers,
                      drop_last=drop_last, persistent_workers=num_workers > 0, pin_memory=pin_memory)
