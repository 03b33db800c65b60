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

from composer.core import Callback, State
from composer.loggers import Logger


class PackingMonitor(Callback):
    """Logs `packing/efficiency` (real tokens / row capacity) per batch and over the run so far."""

    def __init__(self) -> None:
        self.real = 0
        self.capacity = 0

    def after_dataloader(self, state: State, logger: Logger) -> None:
        mask = state.batch.get("attention_mask") if isinstance(state.batch, dict) else None
        if mask is None or "segments" not in state.batch:
            return
        real, capacity = int(mask.sum()), mask.numel()
        self.real += real
        self.capacity += capacity
        logger.log_metrics({"packing/efficiency": real / max(1, capacity),
                            "packing/efficiency_cumulative": self.real / max(1, self.capacity)})

    def state_dict(self) -> dict[str, Any]:
        return {"real": self.real, "capacity": self.capacity}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.real, self.capacity = int(state.get("real", 0)), int(state.get("capacity", 0))

