"""The Composer wrapper of a ModernBERT masked-LM: the prediction head runs only at the labelled positions, on
padded or packed batches (packed: per-entry masks, BlockMasks or the varlen path, by the encoder's attention
implementation; docketbert/model/packed_attention.py)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from composer.metrics.nlp import LanguageCrossEntropy, MaskedAccuracy
from composer.models import HuggingFaceModel
from transformers import ModernBertForMaskedLM, PreTrainedTokenizerBase

from docketbert.core.batching import IGNORE_INDEX
from docketbert.model.build import count_parameters
from docketbert.model.modernbert import embedding_parameters, encoder_of, mlm_logits
from docketbert.model.packed_attention import encode_packed

# A packed batch may list its entries' offsets for the varlen attention (`varlen_cu_seqlens` of its segments) under
# this key, computed where the batch is built; without it they are computed from the segments at each forward.
CU_SEQLENS_BATCH_KEY = "cu_seqlens"


class MaskedLMModel(HuggingFaceModel):
    """Composer wrapper around ModernBertForMaskedLM that runs the MLM head only at masked positions.

    The encoder sees the whole batch; the prediction head and the vocabulary projection, the largest matrix of a
    small model, see only the ~30% of positions that carry a label. Loss and metrics are the same as dense. Packed
    batches list those positions (`mlm_positions`, `mlm_labels`: `labelled_positions`), so the forward never waits
    for the device; other batches pick them with a boolean index."""

    def __init__(self, model: ModernBertForMaskedLM, tokenizer: PreTrainedTokenizerBase | None = None):
        def metrics():
            return [LanguageCrossEntropy(ignore_index=IGNORE_INDEX), MaskedAccuracy(ignore_index=IGNORE_INDEX)]

        super().__init__(
            model, tokenizer, use_logits=True, metrics=metrics(), eval_metrics=metrics(), shift_labels=False
        )
        self.non_embedding_params = count_parameters(model) - embedding_parameters(model)

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if "segments" in batch:  # packed rows (docketbert/data/packing.py): each entry attends to itself only
            cu_seqlens = batch.get(CU_SEQLENS_BATCH_KEY)
            hidden = encode_packed(encoder_of(self.model), batch["input_ids"], batch["segments"], cu_seqlens)
        else:
            hidden = encoder_of(self.model)(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])[0]
        if "mlm_positions" in batch:  # listed by the collator: no device-to-host wait for the rows' count
            rows, labels = hidden.flatten(0, 1).index_select(0, batch["mlm_positions"]), batch["mlm_labels"]
        else:
            picked = batch["labels"] != IGNORE_INDEX
            rows, labels = hidden[picked], batch["labels"][picked]
        logits = mlm_logits(self.model, rows)
        return {"logits": logits, "labels": labels, "hidden": hidden}

    def loss(self, outputs: dict[str, torch.Tensor], batch: Any) -> torch.Tensor:
        labels = outputs["labels"]
        if labels.numel() == 0:  # nothing masked in this micro-batch: a zero that keeps the graph
            return outputs["hidden"].sum() * 0.0
        # The mean over labelled rows: listed positions end with up to 7 IGNORE_INDEX rows (and a sum over none
        # is a zero, where an empty mean would be NaN).
        total = F.cross_entropy(outputs["logits"].float(), labels, ignore_index=IGNORE_INDEX, reduction="sum")
        return total / (labels != IGNORE_INDEX).sum().clamp(min=1)

    def eval_forward(self, batch: dict[str, torch.Tensor], outputs: Any | None = None) -> torch.Tensor:
        outputs = outputs if outputs is not None else self.forward(batch)
        self.labels = outputs["labels"]
        return outputs["logits"]

    def flops_per_batch(self, batch: dict[str, torch.Tensor]) -> float:
        """Forward + backward FLOPs of the matrix multiplies on real tokens (6 per parameter per token)."""
        return 6.0 * self.non_embedding_params * float(batch["attention_mask"].sum())
