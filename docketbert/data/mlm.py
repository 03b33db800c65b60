"""Masked-language-modelling batches of MDS samples: BERT masking, the collator, and the data loader."""

from __future__ import annotations

import functools
import os
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from docketbert.core.batching import IGNORE_INDEX, pad_rows, truncate_entry
from docketbert.core.workers import exit_with, worker_context

if TYPE_CHECKING:  # streaming is slow to import: only the type is needed here
    from streaming import StreamingDataset
    from transformers import PreTrainedTokenizerBase


def mask_tokens(
    input_ids: torch.Tensor,
    maskable: torch.Tensor,
    probability: float,
    mask_id: int,
    vocab_size: int,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
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


_MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser on uint64 arrays (wrapping arithmetic): a counter-based hash, so a random draw is a
    pure function of its counter, with no generator state to carry through workers or checkpoints."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def entry_key(seed: int, epoch: int, sample: int) -> int:
    """The masking key of one entry: a hash of (seed, epoch, sample id), where the sample id is the entry's index in
    the dataset (StreamingDataset's global sample id) or, for data without ids, a checksum of its tokens."""
    key = np.array([seed & _MASK64], dtype=np.uint64)
    for part in (epoch, sample):
        key = _mix64((key + np.uint64(_GOLDEN)) ^ np.uint64(part & _MASK64))
    return int(key[0])


def content_key(input_ids: np.ndarray) -> int:
    """A stand-in sample id for an entry without one: a checksum of its tokens (as int64)."""
    return zlib.crc32(np.ascontiguousarray(input_ids, dtype=np.int64).tobytes())


def token_keys(entry_keys: list[int], lengths: list[int], offsets: list[int], shape: tuple[int, int], rows: list[int]):
    """Per-token counters (uint64, `shape`) for keyed masking: token t of an entry gets hash(entry key, t). Entry i
    lies in row `rows[i]` from column `offsets[i]` for `lengths[i]` tokens; other positions get 0 (never maskable)."""
    keys = np.zeros(shape, dtype=np.uint64)
    if not entry_keys:
        return keys
    lengths_a = np.asarray(lengths, dtype=np.int64)
    total = int(lengths_a.sum())
    starts = np.repeat(np.cumsum(lengths_a) - lengths_a, lengths_a)
    position = np.arange(total, dtype=np.int64) - starts  # token index within its entry
    flat = np.repeat(np.asarray(rows, dtype=np.int64) * shape[1] + np.asarray(offsets, dtype=np.int64), lengths_a)
    per_token = np.repeat(np.asarray(entry_keys, dtype=np.uint64), lengths_a)
    salt = (position.astype(np.uint64) + np.uint64(1)) * np.uint64(_GOLDEN)
    keys.reshape(-1)[flat + position] = _mix64(per_token ^ salt)
    return keys


def _uniform(keys: np.ndarray, stream: int) -> torch.Tensor:
    """A uniform [0, 1) draw per counter, one independent stream per `stream` number."""
    bits = _mix64(keys + np.uint64((stream + 1) * 0xD1B54A32D192ED03 & _MASK64)) >> np.uint64(40)
    return torch.from_numpy(bits.astype(np.float32) * np.float32(2.0**-24))  # 24 bits: exact in float32


def mask_tokens_keyed(
    input_ids: torch.Tensor, maskable: torch.Tensor, probability: float, mask_id: int, vocab_size: int, keys: np.ndarray
) -> tuple[torch.Tensor, torch.Tensor]:
    """`mask_tokens` with every draw a hash of its token's counter (`token_keys`) instead of a generator's next
    number: the masks of an entry depend only on (seed, epoch, sample id), whatever the batch, the worker, the
    packing or a resumption in between. Same statistics: `probability` of the maskable tokens, 80/10/10."""
    picked = maskable & (_uniform(keys, 0) < probability)
    choice = _uniform(keys, 1)
    labels = torch.where(picked, input_ids, IGNORE_INDEX)
    to_mask = picked & (choice < 0.8)
    to_random = picked & (choice >= 0.8) & (choice < 0.9)
    random_ids = (_uniform(keys, 2).double() * vocab_size).long().clamp_(max=vocab_size - 1).to(input_ids.dtype)
    masked = torch.where(to_mask, mask_id, input_ids)
    masked = torch.where(to_random, random_ids, masked)
    return masked, labels


def sample_keys(samples: list[dict[str, Any]], seed: int, deterministic: bool) -> list[int]:
    """Each sample's masking key: from its `sample_id` and `epoch` (set by `docketbert.data.mds.open_split`'s
    dataset) or its tokens. `deterministic` (eval) ignores the epoch, so every evaluation masks the same tokens."""
    keys = []
    for s in samples:
        sample = s.get("sample_id")
        if sample is None:
            sample = content_key(np.asarray(s["input_ids"]))
        keys.append(entry_key(seed, 0 if deterministic else int(s.get("epoch", 0)), int(sample)))
    return keys


def labelled_positions(labels: torch.Tensor, multiple: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """Where a batch carries labels, for an MLM head that runs only there without asking the device.

    Returns (positions, labels), both 1-D: the labelled positions as indices into the flattened (B * L) batch, in
    row-major order (boolean indexing's), then index 0 with label IGNORE_INDEX up to a multiple of `multiple`.
    Computed on the host by the collator, so the model gathers exactly these rows with a known count instead of
    `hidden[labels != IGNORE_INDEX]`, whose size the host must wait for on a GPU. The indices belong to this batch:
    a batch cut into micro-batches needs them again per piece (`docketbert.data.packing.split_packed_batch`)."""
    flat = labels.flatten()
    positions = (flat != IGNORE_INDEX).nonzero().flatten()
    pad = -len(positions) % multiple
    return (
        torch.cat([positions, positions.new_zeros(pad)]),
        torch.cat([flat[positions], flat.new_full((pad,), IGNORE_INDEX)]),
    )


@dataclass
class MLMCollator:
    """Pads a list of MDS samples to the batch's longest entry (rounded up to a multiple) and masks them.

    Masking is keyed (`mask_tokens_keyed`): a pure function of (seed, epoch, sample id) per entry, so the masks of
    a resumed run, or of a run with any number of loader workers, are those of one uninterrupted run."""

    pad_id: int
    mask_id: int
    sep_id: int
    special_ids: tuple[int, ...]
    vocab_size: int
    mlm_probability: float = 0.3
    max_seq_len: int = 768
    pad_to_multiple_of: int = 8
    # Eval: masks that do not change with the epoch, so every evaluation scores the same masked tokens.
    deterministic: bool = False
    seed: int = 17

    @classmethod
    def for_tokenizer(cls, tokenizer: PreTrainedTokenizerBase, **kwargs: Any) -> MLMCollator:
        return cls(
            pad_id=tokenizer.pad_token_id,
            mask_id=tokenizer.mask_token_id,
            sep_id=tokenizer.sep_token_id,
            special_ids=tuple(tokenizer.all_special_ids),
            vocab_size=len(tokenizer),
            **kwargs,
        )

    def __call__(self, samples: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        rows = [
            truncate_entry(np.asarray(s["input_ids"], dtype=np.int64), self.max_seq_len, self.sep_id) for s in samples
        ]
        input_ids, attention_mask = pad_rows(rows, self.pad_id, self.pad_to_multiple_of)
        maskable = attention_mask.bool() & ~torch.isin(input_ids, torch.tensor(self.special_ids))
        keys = token_keys(
            sample_keys(samples, self.seed, self.deterministic),
            [len(r) for r in rows],
            [0] * len(rows),
            tuple(input_ids.shape),
            list(range(len(rows))),
        )
        masked, labels = mask_tokens_keyed(
            input_ids, maskable, self.mlm_probability, self.mask_id, self.vocab_size, keys
        )
        return {"input_ids": masked, "attention_mask": attention_mask, "labels": labels}


def count_real_tokens(batch: dict[str, torch.Tensor]) -> int:
    """Tokens that are not padding: what throughput is honestly measured in."""
    return int(batch["attention_mask"].sum())


def build_dataloader(
    dataset: StreamingDataset,
    collator: MLMCollator,
    batch_size: int,
    num_workers: int = 0,
    drop_last: bool = False,
    pin_memory: bool = False,
    prefetch_factor: int = 4,
) -> DataLoader:
    """`pin_memory` (training on a GPU): batches in page-locked memory, so their copy to the device (Composer's,
    non-blocking) does not hold up the host. With `num_workers` > 0 the workers persist across epochs and
    evaluations and each keeps `prefetch_factor` batches ready."""
    return DataLoader(
        dataset,
        batch_size=batch_size,
        collate_fn=collator,
        drop_last=drop_last,
        pin_memory=pin_memory,
        **worker_options(num_workers, prefetch_factor),
    )


# What the loader's fork server imports once, so that each worker it forks starts with them loaded: streaming (slow
# to import) and the modules whose objects (the keyed dataset, the collators, the packed rows) the workers unpickle.
LOADER_PRELOAD = ("streaming", "docketbert.data.mds", "docketbert.data.packing")


def worker_options(num_workers: int, prefetch_factor: int = 4) -> dict[str, Any]:
    """DataLoader keyword arguments for `num_workers` worker processes (persistent, prefetching, started by a fork
    server: `docketbert.core.workers.worker_context`)."""
    if num_workers < 0 or prefetch_factor < 1:
        raise ValueError(f"num_workers must be >= 0 and prefetch_factor >= 1, got {num_workers}, {prefetch_factor}")
    if num_workers == 0:
        return {"num_workers": 0}
    return {
        "num_workers": num_workers,
        "persistent_workers": True,
        "prefetch_factor": prefetch_factor,
        "multiprocessing_context": worker_context(LOADER_PRELOAD),
        "worker_init_fn": functools.partial(exit_with, os.getpid()),
    }
