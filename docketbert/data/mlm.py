"""Masked-language-modelling batches of MDS samples: BERT masking, the collator, and the data loader."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from docketbert.core.batching import IGNORE_INDEX, pad_rows, truncate_entry

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
        generator = None
        if self.deterministic:
            generator = torch.Generator().manual_seed(zlib.crc32(input_ids.numpy().tobytes()))
        masked, labels = mask_tokens(
            input_ids, maskable, self.mlm_probability, self.mask_id, self.vocab_size, generator
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
) -> DataLoader:
    """`pin_memory` (training on a GPU): batches in page-locked memory, so their copy to the device (Composer's,
    non-blocking) does not hold up the host."""
    return DataLoader(
        dataset,
        batch_size=batch_size,
        collate_fn=collator,
        num_workers=num_workers,
        drop_last=drop_last,
        persistent_workers=num_workers > 0,
        pin_memory=pin_memory,
    )
