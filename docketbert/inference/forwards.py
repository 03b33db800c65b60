"""The forwards behind `docketbert.inference.encoder.Encoder`: one per runtime and layout, behind one interface.

Each takes one batch of token-id rows ([CLS] ... [SEP], sorted by length by the Encoder) and gives
- `embed(rows, pooling)`: (len(rows), hidden) float32 pooled embeddings, on the model's device;
- `head_logits(rows, token_level)`: a fine-tuned head's float32 logits on the host, (B, n_labels) for sequence heads
  and (B, longest, n_labels) for token heads;
- `batches(lengths, budget)`: how a token budget cuts length-sorted rows into batches.

Torch: `PaddedForward` (HF attention on batches padded to their longest row), `PackedForward` (several entries per
row, `docketbert.model.packed_attention`), `UnpaddedForward` (`docketbert.model.unpadded`, the lean forward over
real tokens only). OpenVINO: `OpenVinoForward`, the converted graph (`docketbert.inference.openvino_runtime`), then
the head's own torch modules.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from docketbert.core.batching import by_token_count, pad_rows, token_budget_batches
from docketbert.core.host_to_device import to_device
from docketbert.model.modernbert import classifier_logits

PACKED_WIDTH = 1024  # row width of the packed layout (longer entries get a row of their own length)


def pool(hidden: torch.Tensor, owner: torch.Tensor, first: torch.Tensor, n: int, pooling: str) -> torch.Tensor:
    """hidden (B, L, H); owner (B, L): the batch-local entry of each token (-1: none); first: (n,) flat index of
    each entry's first token. Returns (n, H) float32: the first token's ("cls") or the mean of the entry's tokens."""
    flat = hidden.reshape(-1, hidden.shape[-1]).float()
    if pooling == "cls":
        return flat[first]
    # padding (-1) is summed into an extra row n, dropped after: no boolean indexing, which would synchronize
    owner = torch.where(owner.reshape(-1) >= 0, owner.reshape(-1), n)
    sums = torch.zeros((n + 1, flat.shape[1]), dtype=flat.dtype, device=flat.device).index_add_(0, owner, flat)
    ones = torch.ones_like(owner, dtype=flat.dtype)
    counts = torch.zeros(n + 1, dtype=flat.dtype, device=flat.device).index_add_(0, owner, ones)
    return sums[:n] / counts[:n, None].clamp(min=1)


def pack_rows(lengths: Sequence[int], width: int) -> list[list[int]]:
    """Best-fit decreasing (docketbert.data.packing): rows of entry indices whose lengths sum to at most `width`."""
    from docketbert.data.packing import best_fit_decreasing

    return best_fit_decreasing(lengths, width)


class Forward:
    """The interface, and the padded torch forward's head: `model` is the loaded model (a head or not), `encoder`
    its bare encoder (compiled where asked)."""

    def __init__(self, model: torch.nn.Module, encoder: torch.nn.Module, device: torch.device):
        self.model, self.encoder, self.device = model, encoder, device
        self.pad_id = model.config.pad_token_id or 0

    def embed(self, rows: list[list[int]], pooling: str) -> torch.Tensor:
        raise NotImplementedError

    def head_logits(self, rows: list[list[int]], token_level: bool) -> torch.Tensor:
        ids, mask = self._padded(rows)
        return self.model(input_ids=ids, attention_mask=mask).logits.float().cpu()

    def batches(self, lengths: list[int], budget: int) -> list[list[int]]:
        """Batches of row indices with rows x longest row <= budget."""
        return token_budget_batches(lengths, budget)

    def _padded(self, rows: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        ids, mask = pad_rows(rows, self.pad_id)
        return to_device(ids, self.device), to_device(mask, self.device)


class PaddedForward(Forward):
    """Batches padded to their longest row, HF attention (sdpa)."""

    def embed(self, rows, pooling):
        n = len(rows)
        ids, mask = self._padded(rows)
        hidden = self.encoder(input_ids=ids, attention_mask=mask)[0]
        owner = torch.where(mask.bool(), torch.arange(n, device=self.device)[:, None], -1)
        first = torch.arange(n, device=self.device) * ids.shape[1]
        return pool(hidden, owner, first, n, pooling)


class PackedForward(Forward):
    """Several entries per row of PACKED_WIDTH tokens, each attending only to itself; a fine-tuned head runs on
    padded batches."""

    def __init__(self, model, encoder, device):
        super().__init__(model, encoder, device)
        self.rows = 0  # the most rows a batch has had (shapes never shrink, so compiles are few)

    def batches(self, lengths, budget):
        return by_token_count(lengths, budget)  # a batch is budget // width packed rows: count tokens

    def embed(self, rows, pooling):
        from docketbert.model.packed_attention import encode_packed

        n = len(rows)
        width = max(PACKED_WIDTH, max(len(r) for r in rows))
        packing = pack_rows([len(r) for r in rows], width)
        # Static shapes for the compiled kernels (flex_attention is compiled even when the model is not): row
        # counts are rounded up to a multiple of 8 and never shrink, so a run compiles one or two shapes.
        self.rows = max(self.rows, -(-len(packing) // 8) * 8)
        order = np.fromiter((i for members in packing for i in members), dtype=np.int64, count=n)
        lengths = np.fromiter((len(rows[i]) for i in order), dtype=np.int64, count=n)
        row_of = np.repeat(np.arange(len(packing)), [len(m) for m in packing])
        before = np.cumsum(lengths) - lengths  # tokens before each entry in packing order
        row_start = np.zeros(len(packing), dtype=np.int64)
        row_start[1:] = np.cumsum([sum(len(rows[i]) for i in m) for m in packing])[:-1]
        start = row_of * width + before - row_start[row_of]  # flat position of each entry's first token
        token_at = np.repeat(start - before, lengths) + np.arange(int(lengths.sum()))
        flat = np.fromiter((t for i in order for t in rows[i]), dtype=np.int64, count=int(lengths.sum()))
        ids = torch.full((self.rows * width,), self.pad_id, dtype=torch.long)
        owner = torch.full((self.rows * width,), -1, dtype=torch.long)
        ids[token_at] = torch.from_numpy(flat)
        owner[token_at] = torch.from_numpy(np.repeat(order, lengths))
        ids, owner = ids.view(self.rows, width), owner.view(self.rows, width)
        first = torch.zeros(n, dtype=torch.long)
        first[torch.from_numpy(order)] = torch.from_numpy(start)
        owner = to_device(owner, self.device)  # entry ids are distinct, so they serve as segment ids (-1: padding)
        hidden = encode_packed(self.encoder, to_device(ids, self.device), owner)
        return pool(hidden, owner, to_device(first, self.device), n, pooling)


class UnpaddedForward(Forward):
    """`docketbert.model.unpadded.UnpaddedEncoder` over the bare encoder (its pieces compiled when asked), then a
    fine-tuned head's own modules, as transformers' ModernBertFor{Sequence,Token}Classification run them."""

    def __init__(self, model, encoder, device, compile: bool = False):
        from docketbert.model.unpadded import UnpaddedEncoder

        super().__init__(model, encoder, device)
        self.unpadded = UnpaddedEncoder(encoder, compile=compile)

    def embed(self, rows, pooling):
        return self.unpadded(rows, pooling).float()

    def head_logits(self, rows, token_level):
        if token_level:
            hidden = self.unpadded(rows, "none")
            return _split_rows(classifier_logits(self.model, hidden).float().cpu(), rows)
        pooled = self.unpadded(rows, self.model.config.classifier_pooling)
        return classifier_logits(self.model, pooled).float().cpu()


class OpenVinoForward(Forward):
    """The OpenVINO graph of the encoder (`runtime`: an `OpenVinoEncoder`) on padded batches, on the CPU; a
    fine-tuned head's own torch modules after it."""

    def __init__(self, model, encoder, device, runtime):
        super().__init__(model, encoder, device)
        self.runtime = runtime

    def embed(self, rows, pooling):
        return torch.from_numpy(self.runtime(*pad_rows(rows, self.pad_id), pooling))

    def head_logits(self, rows, token_level):
        pooling = "none" if token_level else self.model.config.classifier_pooling
        hidden = torch.from_numpy(self.runtime(*pad_rows(rows, self.pad_id), pooling))
        return classifier_logits(self.model, hidden).float()


def _split_rows(flat: torch.Tensor, rows: Sequence[Sequence[int]]) -> torch.Tensor:
    """(T, C) per-token values of consecutive rows -> (B, longest, C), zero past each row's end."""
    out = flat.new_zeros((len(rows), max(len(r) for r in rows), flat.shape[-1]))
    start = 0
    for r, row in enumerate(rows):
        out[r, : len(row)] = flat[start : start + len(row)]
        start += len(row)
    return out
