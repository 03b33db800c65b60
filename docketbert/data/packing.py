"""Sequence packing for MLM training: whole docket entries best-fit into rows of a fixed width.

- `best_fit_decreasing(lengths, width)`: rows as lists of entry indices; no entry is split, none is lost.
- `PackedRows`: an IterableDataset over a StreamingDataset (which already shards by rank and worker and shuffles)
  that buffers `buffer_size` entries, packs them best-fit decreasing, yields the rows that are full (at most
  `slack` of their width free) in a seeded random order, and carries the entries of unfilled rows over into the
  next buffer; at the end of the stream every remaining entry is yielded. Entries longer than `width` are
  truncated exactly as `MLMCollator` truncates them (the last token stays [SEP]).
- `PackedMLMCollator`: rows -> `input_ids`, `segments` (entry index per token, -1 on padding), `attention_mask`
  (1 on real tokens, so `count_real_tokens` counts real tokens) and `labels`, masked by the same keyed
  `docketbert.data.mlm.mask_tokens_keyed` as unpacked batches (same statistics: 30% of the maskable tokens,
  80/10/10; an entry's masks depend on (seed, epoch, sample id) only, so it is masked alike packed or not).

A Composer "sample" is a packed row; a batch is a fixed number of rows. Resumption: `PackedRows` has no
`state_dict`, so Composer resumes by spinning the dataloader (re-reading and skipping the batches already trained
in the epoch). Packing is a deterministic function of the StreamingDataset's order, which is deterministic for a
seed and epoch, so a resumed run sees exactly the rows an uninterrupted one would (the skipped rows cost reading
and collating, not training); the masks are keyed, so they depend on no generator's state either. `len()` is an
estimate from a probe of entry lengths (Composer needs a length for durations in epochs); an epoch ends at that
many batches or when the data runs out, whichever comes first."""

from __future__ import annotations

import bisect
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import IterableDataset

from docketbert.core.batching import PAD_SEGMENT, truncate_entry
from docketbert.data.mlm import (
    MLMCollator,
    labelled_positions,
    mask_tokens_keyed,
    sample_keys,
    token_keys,
    worker_options,
)

# Assumed packing efficiency when estimating the number of rows of an epoch (docket entries pack nearly full rows).
ASSUMED_EFFICIENCY = 0.98


def best_fit_decreasing(lengths: Sequence[int], width: int) -> list[list[int]]:
    """Pack items (by length) into rows of `width`: longest first, each into the row it fills most tightly."""
    rows: list[list[int]] = []
    free: list[tuple[int, int]] = []  # (free space, row index), sorted
    for item in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        n = lengths[item]
        if n > width or n <= 0:
            raise ValueError(f"entry {item} has {n} tokens: it cannot be packed into rows of {width}")
        at = bisect.bisect_left(free, (n, -1))
        if at == len(free):
            rows.append([item])
            bisect.insort(free, (width - n, len(rows) - 1))
        else:
            space, row = free.pop(at)
            rows[row].append(item)
            bisect.insort(free, (space - n, row))
    return rows


class PackedRow(list):
    """A packed row: its entries (int64 arrays, a list) and, in `ids`, each entry's (sample id or None, epoch), from
    which its masks are keyed (`docketbert.data.mlm.sample_keys`)."""

    def __init__(self, entries=(), ids: list[tuple[int | None, int]] | None = None):
        super().__init__(entries)
        self.ids = list(ids) if ids is not None else [(None, 0)] * len(self)


class PackedRows(IterableDataset):
    """Rows of whole entries (each a list of int64 arrays) from a StreamingDataset, best-fit packed."""

    def __init__(
        self,
        dataset,
        width: int,
        sep_id: int,
        buffer_size: int = 2048,
        slack: float = 0.02,
        seed: int = 17,
        probe: int = 2048,
    ):
        if buffer_size < 1:
            raise ValueError(f"packing buffer_size must be positive, got {buffer_size}")
        self.dataset, self.width, self.sep_id = dataset, width, sep_id
        self.buffer_size, self.slack, self.seed = buffer_size, slack, seed
        self.probe = probe
        self._length: int | None = None

    def __iter__(self) -> Iterator[PackedRow]:
        rng = random.Random(self.seed)
        buffer: list[tuple[np.ndarray, tuple[int | None, int]]] = []
        for sample in self.dataset:
            entry = truncate_entry(np.asarray(sample["input_ids"], dtype=np.int64), self.width, self.sep_id)
            buffer.append((entry, (sample.get("sample_id"), int(sample.get("epoch", 0)))))
            if len(buffer) >= self.buffer_size:
                rows, buffer = self._pack(buffer, keep_partial=True)
                rng.shuffle(rows)
                yield from rows
        rows, _ = self._pack(buffer, keep_partial=False)
        rng.shuffle(rows)
        yield from rows

    def _pack(self, entries: list[tuple[np.ndarray, Any]], keep_partial: bool) -> tuple[list[PackedRow], list]:
        """Full rows, and the entries of unfilled rows to carry over (none when not `keep_partial`)."""
        packed = best_fit_decreasing([len(e) for e, _ in entries], self.width)
        rows = [PackedRow([entries[i][0] for i in row], [entries[i][1] for i in row]) for row in packed]
        if not keep_partial:
            return rows, []
        limit = self.width * (1.0 - self.slack)
        full = [r for r in rows if sum(len(e) for e in r) >= limit]
        carry = [(e, i) for r in rows if sum(len(e) for e in r) < limit for e, i in zip(r, r.ids)]
        if len(carry) > self.buffer_size // 2:  # entries that will not pack tightly: do not hoard them
            return rows, []
        return full, carry

    def __len__(self) -> int:
        """Estimated rows for this rank: (its entries x mean probed length) / (width x assumed efficiency)."""
        if self._length is None:
            total = len(self.dataset)  # this rank's share of the samples
            size = self.dataset.size if hasattr(self.dataset, "size") else total
            picks = np.linspace(0, size - 1, num=min(self.probe, size)).astype(int) if size else []
            lengths = [min(len(self.dataset[int(i)]["input_ids"]), self.width) for i in picks]
            mean = float(np.mean(lengths)) if lengths else 0.0
            self._length = int(np.ceil(total * mean / (self.width * ASSUMED_EFFICIENCY)))
        return self._length


@dataclass
class PackedMLMCollator:
    """Packed rows -> a fixed-width MLM batch, masked like `MLMCollator` (whose masking options it takes), with
    the labelled positions listed (`labelled_positions`) for `MaskedLMModel`. Its batches go to Composer with
    `split_packed_batch` and `packed_batch_rows`."""

    base: MLMCollator
    width: int

    def __call__(self, rows: list[list[np.ndarray]]) -> dict[str, torch.Tensor]:
        b = self.base
        input_ids = torch.full((len(rows), self.width), b.pad_id, dtype=torch.long)
        segments = torch.full((len(rows), self.width), PAD_SEGMENT, dtype=torch.long)
        for r, row in enumerate(rows):
            start = 0
            for s, entry in enumerate(row):
                input_ids[r, start : start + len(entry)] = torch.from_numpy(np.asarray(entry, dtype=np.int64))
                segments[r, start : start + len(entry)] = s
                start += len(entry)
            if start > self.width:
                raise ValueError(f"a packed row holds {start} tokens, more than its width {self.width}")
        attention_mask = (segments >= 0).long()
        maskable = attention_mask.bool() & ~torch.isin(input_ids, torch.tensor(b.special_ids))
        samples, lengths, offsets, row_of = [], [], [], []
        for r, row in enumerate(rows):
            ids = getattr(row, "ids", None) or [(None, 0)] * len(row)
            start = 0
            for entry, (sample, epoch) in zip(row, ids):
                samples.append({"input_ids": entry, "sample_id": sample, "epoch": epoch})
                lengths.append(len(entry))
                offsets.append(start)
                row_of.append(r)
                start += len(entry)
        keys = token_keys(
            sample_keys(samples, b.seed, b.deterministic), lengths, offsets, (len(rows), self.width), row_of
        )
        masked, labels = mask_tokens_keyed(input_ids, maskable, b.mlm_probability, b.mask_id, b.vocab_size, keys)
        mlm_positions, mlm_labels = labelled_positions(labels)
        return {
            "input_ids": masked,
            "attention_mask": attention_mask,
            "labels": labels,
            "segments": segments,
            "mlm_positions": mlm_positions,
            "mlm_labels": mlm_labels,
        }


def split_packed_batch(batch: dict[str, torch.Tensor], microbatch_size: int | float) -> list[dict[str, torch.Tensor]]:
    """Composer's `split_batch` for packed batches: micro-batches of `microbatch_size` rows, each with the listed
    MLM positions of its own rows (they index the flattened batch, so they are listed again per piece)."""
    rows = packed_batch_rows(batch)
    size = max(1, int(microbatch_size))
    pieces = []
    for start in range(0, rows, size):
        piece = {k: v[start : start + size] for k, v in batch.items() if not k.startswith("mlm_")}
        if "mlm_positions" in batch:
            piece["mlm_positions"], piece["mlm_labels"] = labelled_positions(piece["labels"])
        pieces.append(piece)
    return pieces


def packed_batch_rows(batch: dict[str, torch.Tensor]) -> int:
    """Composer's `get_num_samples_in_batch` for packed batches: rows (the MLM lists have their own length)."""
    return int(batch["input_ids"].shape[0])


def build_packed_loader(
    dataset,
    collator: MLMCollator,
    width: int,
    batch_size: int,
    buffer_size: int,
    seed: int,
    num_workers: int = 0,
    pin_memory: bool = False,
    prefetch_factor: int = 4,
) -> torch.utils.data.DataLoader:
    """A DataLoader of `batch_size` packed rows per batch over a StreamingDataset (`pin_memory`, `num_workers` and
    `prefetch_factor`: as in `docketbert.data.mlm.build_dataloader`)."""
    rows = PackedRows(dataset, width, collator.sep_id, buffer_size=buffer_size, seed=seed)
    return torch.utils.data.DataLoader(
        rows,
        batch_size=batch_size,
        collate_fn=PackedMLMCollator(collator, width),
        pin_memory=pin_memory,
        **worker_options(num_workers, prefetch_factor),
    )
