"""Sequence packing for MLM training: whole docket entries best-fit into rows of a fixed width.

- `best_fit_decreasing(lengths, width)`: rows as lists of entry indices; no entry is split, none is lost.
- `PackedRows`: an IterableDataset over a StreamingDataset (which already shards by rank and worker and shuffles)
  that buffers `buffer_size` entries, packs them best-fit decreasing, yields the rows that are full (at most
  `slack` of their width free) in a seeded random order, and carries the entries of unfilled rows over into the
  next buffer; at the end of the stream every remaining entry is yielded. Entries longer than `width` are
  truncated exactly as `MLMCollator` truncates them (the last token stays [SEP]).
- `PackedMLMCollator`: rows -> `input_ids`, `segments` (entry index per token, -1 on padding), `attention_mask`
  (1 on real tokens, so `count_real_tokens` counts real tokens) and `labels`, masked by the same
  `docketbert.data.mask_tokens` as unpacked batches (same statistics: 30% of the maskable tokens, 80/10/10).

A Composer "sample" is a packed row; a batch is a fixed number of rows. Resumption: `PackedRows` has no
`state_dict`, so Composer resumes by spinning the dataloader (re-reading and skipping the batches already trained
in the epoch). Packing is a deterministic function of the StreamingDataset's order, which is deterministic for a
seed and epoch, so a resumed run sees exactly the rows an uninterrupted one would (the skipped rows cost reading
and collating, not training). `len()` is an estimate from a probe of entry lengths (Composer needs a length for
durations in epochs); an epoch ends at that many batches or when the data runs out, whichever comes first."""

from __future__ import annotations

from typing import Any


def _true_false_auto(key: str, requested: Any, auto: bool) -> bool:
    """A config switch that is true, false, or auto (then `auto`)."""
    if requested == "auto":
        return auto
    if isinstance(requested, bool):
        return requested
    raise ValueError(f"{key} must be true, false or auto, not {requested!r}")


def resolve_packing(requested: Any, device: str) -> bool:
    """`data.packing`: true, false, or auto (on for GPU runs, off on CPU)."""
    return _true_false_auto("data.packing", requested, device == "gpu")


def resolve_compile(requested: Any, packed_flex_gpu: bool) -> bool:
    """`model.compile`: true, false, or auto (on for packed GPU runs with flex_attention: uncompiled, flex_attention
    falls back to a slow path; compiled, it is the fastest path bench/train_throughput.py measured)."""
    return _true_false_auto("model.compile", requested, packed_flex_gpu)


def packed_attn_implementation(requested: str, resolved: str, device: str) -> str:
    """Attention for packed rows: flex_attention on GPU unless one was named (it skips the masked blocks; the
    flash-attn package cannot be installed here). sdpa/eager take dense per-entry masks (CPU, or when named)."""
    if requested == "auto":
        return "flex_attention" if device == "gpu" else resolved
    if resolved == "flash_attention_2":
        raise ValueError("data.packing with attn_implementation flash_attention_2 is not supported: "
                         "use flex_attention (the default for packed GPU runs), sdpa or eager")
    return resolved

