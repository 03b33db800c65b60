"""A lean ModernBERT encoder forward on unpadded tokens, for inference (layout "unpadded": the CPU default; opt-in on a
GPU).

It runs the weights of a transformers `ModernBertModel` (fp32, bf16 or dynamic-int8 Linear layers alike) without
transformers' per-call machinery, and computes no padding where it can be avoided:
- embeddings, norms, every Linear layer and the GLU run on the (T, hidden) matrix of the batch's real tokens only;
- attention runs per batch of length-sorted entries padded to the longest one (sorting leaves ~10% padding), with
  a key-padding mask, plus ModernBERT's window |i - j| <= sliding_window on local layers when entries are longer
  than the window. Rows up to MATMUL_ATTENTION_MAX_LEN tokens use matmul-softmax-matmul, a few rows at a time so
  that a chunk's scores stay under SCORE_CHUNK elements; at docket-entry lengths it beats the CPU sdpa kernel
  (BENCHMARKS.md, "Which attention settings suit the unpadded CPU forward"). Longer rows, and every row off the
  CPU, use sdpa. The softmax
  scale is folded into the queries' rotary tables;
- with CLS pooling, the last layer computes its attention output, residual and MLP for the [CLS] rows only (keys
  and values still come from every token), and the final norm runs on those rows only.
The result equals transformers' forward on each entry alone (tests/model/test_unpadded.py, fp32, tight tolerance).

`attention="varlen"` runs attention on the (T, heads, head_dim) matrices of the real tokens too, through
`docketbert.model.varlen_attention` (torch's varlen Flash kernel on CUDA, per-entry sdpa elsewhere): no padded rows,
no masks, no scatter and gather; with CLS pooling a global last layer runs the [CLS] queries alone over every key.
`attention="auto"` (the default) picks varlen where the kernel runs (CUDA, fp16/bf16 weights) and the padded
per-batch attention above everywhere else; `attention="padded"` keeps the padded one.

With `compile=True` each layer's pieces (norm, QKV projection, rotary and the scatter into padded rows; the gather
back, output projection, residual, norm and GLU MLP) go through `torch.compile(dynamic=True)`: a few graphs, shared
by every layer and batch shape. Attention stays eager. It is off by default: on the CPU it
is level with eager (BENCHMARKS.md, "does compiling its pieces pay?"); it is a candidate for the GPU, where
eager ModernBERT leaves the matrix units
mostly idle.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn.functional as F

from docketbert.core.batching import flat_ids
from docketbert.core.host_to_device import to_device
from docketbert.model.varlen_attention import HALF_DTYPES, cu_seqlens_from_lengths, kernel_available, varlen_attention

ATTENTIONS = ("auto", "padded", "varlen")

# Rows up to this many tokens use matmul attention, longer ones sdpa, by the queries' dtype (others: 128).
# On the CPU, with bf16 matmul attention wins up to 256 tokens; in fp32 (modes fp32 and int8) sdpa is level or
# faster above 128 (BENCHMARKS.md, "Which attention settings suit the unpadded CPU forward").
MATMUL_ATTENTION_MAX_LEN = {torch.float32: 128, torch.bfloat16: 256}
# Matmul attention runs on chunks of rows with at most this many scores (rows x heads x queries x keys): larger
# score tensors fall out of cache, and without docketbert.core.cpu_memory's tuning they cost page faults on every
# call.
SCORE_CHUNK = 1 << 21


def _matmul_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """softmax(q k^T + mask) v with the softmax in fp32 (q already scaled; the mask fp32, additive)."""
    scores = torch.matmul(q, k.transpose(-1, -2))
    if mask is not None:
        scores = scores.add_(mask) if scores.dtype == mask.dtype else scores + mask  # bf16 scores + fp32 -> fp32
    return torch.matmul(torch.softmax(scores, -1, dtype=torch.float32).to(v.dtype), v)


def _projected_and_rotated(
    hidden: torch.Tensor,
    layer: torch.nn.Module,
    cos: torch.Tensor,
    sin: torch.Tensor,
    heads: int,
    head_dim: int,
    in_place: bool,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(qkv, rotated qk) of the real tokens `hidden` (T, hidden): the layer's norm and QKV projection, qkv
    (T, 3, heads, head_dim), and its queries (scaled by the rotary tables) and keys rotated, (T, 2, heads, head_dim).
    The rotation runs in fp32, as transformers does: x * cos + rotate_half(x) * sin, computed on the two halves of
    the head dimension (`cos` and `sin` hold one half of transformers' tables, whose halves are equal), without
    rotate_half's copies. `in_place`: written back into qkv (eager: no new tensors; the rotated qk is a view of it);
    else a concatenation, for torch.compile, which fuses it into its kernels (there, writes into views are much
    slower than eager) and qkv is left unrotated."""
    qkv = layer.attn.Wqkv(layer.attn_norm(hidden)).view(-1, 3, heads, head_dim)
    qk, half = qkv[:, :2].float(), head_dim // 2  # in fp32 a view: each half is computed before either is written
    first, second = qk[..., :half], qk[..., half:]
    if not in_place:
        rotated = torch.cat((first * cos - second * sin, second * cos + first * sin), dim=-1)
        return qkv, rotated.to(qkv.dtype)
    rotated_first = torch.addcmul(first * cos, second, sin, value=-1)
    qkv[:, :2, :, half:] = torch.addcmul(second * cos, first, sin)
    qkv[:, :2, :, :half] = rotated_first
    return qkv, qkv[:, :2]


def _attention_inputs(
    hidden: torch.Tensor,
    layer: torch.nn.Module,
    cos: torch.Tensor,
    sin: torch.Tensor,
    slot: torch.Tensor,
    pad_slot: torch.Tensor,
    padded_tokens: int,
    heads: int,
    head_dim: int,
) -> torch.Tensor:
    """(padded_tokens, 3, heads, head_dim): rotated queries and keys, and values (`_projected_and_rotated`, in
    place), scattered to their slots in the length-sorted batch padded per row; the padding slots `pad_slot` are
    zeros (masked keys stay finite)."""
    qkv, _ = _projected_and_rotated(hidden, layer, cos, sin, heads, head_dim, in_place=True)
    padded = qkv.new_empty((padded_tokens, 3, heads, head_dim))
    padded[slot] = qkv
    return padded.index_fill_(0, pad_slot, 0)


def _attention_inputs_for_compile(
    hidden: torch.Tensor,
    layer: torch.nn.Module,
    cos: torch.Tensor,
    sin: torch.Tensor,
    slot: torch.Tensor,
    pad_slot: torch.Tensor,
    padded_tokens: int,
    heads: int,
    head_dim: int,
) -> torch.Tensor:
    """`_attention_inputs` without writes into views, for torch.compile, which fuses the rotation's concatenation and
    the zeroing into its kernels. `pad_slot` is unused (every slot starts at zero)."""
    qkv, qk = _projected_and_rotated(hidden, layer, cos, sin, heads, head_dim, in_place=False)
    padded = qkv.new_zeros((padded_tokens, 3, heads, head_dim))
    padded[slot, :2] = qk
    padded[slot, 2] = qkv[:, 2]
    return padded


def _mlp_block(residual: torch.Tensor, attention_out: torch.Tensor, layer: torch.nn.Module) -> torch.Tensor:
    """The layer's output projection and residual, then its norm, GLU MLP and residual."""
    hidden = residual + layer.attn.Wo(attention_out)
    gate_in, gate = layer.mlp.Wi(layer.mlp_norm(hidden)).chunk(2, dim=-1)
    return hidden + layer.mlp.Wo(layer.mlp.act(gate_in) * gate)


def _layer_output(
    hidden: torch.Tensor, attention: torch.Tensor, slot: torch.Tensor, layer: torch.nn.Module
) -> torch.Tensor:
    """attention (B, H, L, D) gathered back to the real tokens, then `_mlp_block`."""
    rows, heads, width, head_dim = attention.shape
    flat = attention.transpose(1, 2).reshape(rows * width, heads * head_dim)
    return _mlp_block(hidden, flat.index_select(0, slot), layer)


def _varlen_inputs(
    hidden: torch.Tensor, layer: torch.nn.Module, cos: torch.Tensor, sin: torch.Tensor, heads: int, head_dim: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rotated queries and keys (T, 2, heads, head_dim), and values (T, heads, head_dim) of the real tokens, for
    varlen attention: `_projected_and_rotated` in its functional form, without the padded rows."""
    qkv, qk = _projected_and_rotated(hidden, layer, cos, sin, heads, head_dim, in_place=False)
    return qk, qkv[:, 2]


_EAGER = SimpleNamespace(
    attention_inputs=_attention_inputs, layer_output=_layer_output, mlp_block=_mlp_block, varlen_inputs=_varlen_inputs
)


@cache
def _compiled_ops() -> SimpleNamespace:
    """The same pieces (the attention inputs in their functional form) through torch.compile, made once per process
    so that every encoder shares the graphs (layers and models of one architecture reuse them; guards pick per dtype
    and layer-0's identity norm). Attention stays eager: sdpa off the CPU, and on the CPU a compiled matmul attention
    needs a graph per kind of mask, which crowds dynamo's cache (8 graphs a function) when a process runs two
    dtypes."""
    pieces = {**vars(_EAGER), "attention_inputs": _attention_inputs_for_compile}
    return SimpleNamespace(**{name: torch.compile(fn, dynamic=True) for name, fn in pieces.items()})


class UnpaddedEncoder:
    """Pooled embeddings (B, hidden), or every token's hidden state, of a batch of token-id rows through `model` (a
    transformers ModernBertModel). `compile`: the per-layer pieces through torch.compile (see the module docstring).
    `attention`: auto, padded or varlen (see the module docstring)."""

    def __init__(self, model: torch.nn.Module, compile: bool = False, attention: str = "auto"):
        if getattr(model.config, "model_type", None) != "modernbert" or not hasattr(model, "rotary_emb"):
            raise TypeError(f"layout unpadded runs a transformers ModernBertModel, not {type(model).__name__}")
        if attention not in ATTENTIONS:
            raise ValueError(f"unpadded attention must be one of {ATTENTIONS}, not {attention!r}")
        self.attention = attention
        self.model = model
        config = model.config
        self.heads = config.num_attention_heads
        self.head_dim = config.hidden_size // self.heads
        self.window = config.sliding_window
        self.layer_types = list(config.layer_types)
        self.inv_freq = {t: getattr(model.rotary_emb, f"{t}_inv_freq") for t in set(self.layer_types)}
        self.scale = self.head_dim**-0.5
        self.ops = _compiled_ops() if compile else _EAGER

    def _rotary(self, positions: torch.Tensor, dtype: torch.dtype) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """cos and sin per token and layer type, as transformers computes them (fp32, rounded to `dtype`), shaped
        (T, 2, 1, head_dim / 2) for queries and keys (one half of transformers' tables: the halves are equal); the
        queries' tables carry the softmax scale."""
        scale = to_device(torch.tensor([self.scale, 1.0]), positions.device)[None, :, None, None]
        out = {}
        for layer_type, inv_freq in self.inv_freq.items():
            freqs = positions[:, None].float() * inv_freq[None, :].float()
            # rounded to the model's dtype and back, as transformers does, then broadcast over the heads
            cos, sin = (x.to(dtype).float()[:, None, None, :] for x in (freqs.cos(), freqs.sin()))
            out[layer_type] = (cos * scale, sin * scale)
        return out

    def _masks(
        self, lengths: torch.Tensor, width: int, dtype: torch.dtype, padded: bool
    ) -> dict[str, torch.Tensor | None]:
        """Additive masks per layer type: keys past each row's length (when some row is `padded`, i.e. shorter than
        `width`); on local layers also outside the window. Built on the device of `lengths`: a GPU batch's band mask is
        large, and building it on the host would cost a copy per batch."""
        full, device = None, lengths.device
        if padded:
            keys = torch.arange(width, device=device)[None, :] < lengths[:, None]  # (B, L)
            full = torch.zeros(keys.shape, dtype=dtype, device=device).masked_fill_(~keys, float("-inf"))[:, None, None]
        local = full
        if width > self.window + 1:
            index = torch.arange(width, device=device)
            band = (index[:, None] - index[None, :]).abs() <= self.window
            band = torch.zeros((width, width), dtype=dtype, device=device).masked_fill_(~band, float("-inf"))
            local = band[None, None] if full is None else full + band
        return {"full_attention": full, "sliding_attention": local}

    def _attention(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """q (B, H, Lq, D), already scaled; k and v (B, H, L, D); mask (B or 1, 1, Lq or 1, L) -> (B, H, Lq, D)."""
        n, heads, queries, width = q.shape[0], q.shape[1], q.shape[2], k.shape[2]
        # Off the CPU every row goes through sdpa: its fused kernels keep scores out of memory there (the GPU's
        # large batches would otherwise split into many chunks a layer).
        if q.device.type != "cpu" or width > MATMUL_ATTENTION_MAX_LEN.get(q.dtype, 128):
            mask = None if mask is None else mask.to(q.dtype)  # sdpa wants the mask in the query's dtype
            return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=1.0)
        rows = max(1, SCORE_CHUNK // (heads * queries * width))
        if rows >= n:
            return _matmul_attention(q, k, v, mask)
        parts = []
        for i in range(0, n, rows):
            part_mask = None if mask is None else mask[i : i + rows] if mask.shape[0] > 1 else mask
            parts.append(_matmul_attention(q[i : i + rows], k[i : i + rows], v[i : i + rows], part_mask))
        return torch.cat(parts)

    def uses_varlen(self) -> bool:
        """Whether this encoder's attention runs on the real tokens (varlen) rather than padded rows."""
        if self.attention != "auto":
            return self.attention == "varlen"
        weight = self.model.embeddings.tok_embeddings.weight
        return weight.device.type == "cuda" and weight.dtype in HALF_DTYPES and kernel_available()

    def _varlen_layers(
        self,
        hidden: torch.Tensor,
        rotary: dict[str, tuple[torch.Tensor, torch.Tensor]],
        cu_seqlens: torch.Tensor,
        starts: torch.Tensor,
        width: int,
        pooling: str,
    ) -> torch.Tensor:
        """Every layer on the real tokens `hidden` (T, hidden) of entries at offsets `cu_seqlens`, attention through
        `varlen_attention`; returns (T,
        hidden), or (N, hidden) [CLS] rows with CLS pooling (the last layer's attention output, residual and MLP on
        those rows only)."""
        model, ops, n = self.model, self.ops, len(starts)
        last = len(model.layers) - 1
        for index, layer in enumerate(model.layers):
            layer_type = self.layer_types[index]
            cos, sin = rotary[layer_type]
            qk, v = ops.varlen_inputs(hidden, layer, cos, sin, self.heads, self.head_dim)
            q, k = qk.unbind(1)
            window = self.window if layer_type == "sliding_attention" else None
            if index == last and pooling == "cls":
                if window is None:  # the [CLS] queries alone, one per entry, over all of its keys
                    one = torch.arange(n + 1, dtype=torch.int32, device=hidden.device)
                    out = varlen_attention(q[starts], k, v, one, 1, cu_seqlens, width, scale=1.0)
                else:  # a window counts from each query's own position: every query, then the [CLS] rows
                    out = varlen_attention(q, k, v, cu_seqlens, width, window=window, scale=1.0)[starts]
                hidden = ops.mlp_block(hidden[starts], out.reshape(n, -1), layer)
            else:
                out = varlen_attention(q, k, v, cu_seqlens, width, window=window, scale=1.0)
                hidden = ops.mlp_block(hidden, out.reshape(len(hidden), -1), layer)
        return hidden

    @torch.inference_mode()
    def __call__(self, rows: Sequence[Sequence[int]], pooling: str = "cls") -> torch.Tensor:
        """rows: token ids per entry ([CLS] ... [SEP]); returns (len(rows), hidden) in the model's dtype, pooled
        "cls" or "mean", or with pooling "none" every token's final hidden state, (total tokens, hidden), row after
        row."""
        if pooling not in ("cls", "mean", "none"):
            raise ValueError(f"unknown pooling {pooling!r}: cls, mean or none")
        model = self.model
        device = model.embeddings.tok_embeddings.weight.device
        n = len(rows)
        lengths = np.fromiter(map(len, rows), dtype=np.int64, count=n)
        ids = torch.from_numpy(flat_ids(rows, lengths))
        lengths = torch.from_numpy(lengths)
        width = int(lengths.max())
        starts = torch.cumsum(lengths, 0) - lengths  # flat index of each entry's first token ([CLS])
        positions = torch.arange(len(ids)) - torch.repeat_interleave(starts, lengths)
        if self.uses_varlen():
            cu_seqlens = cu_seqlens_from_lengths(lengths)  # on the host, copied with the rest
            ids, starts, positions, lengths, cu_seqlens = (
                to_device(x, device) for x in (ids, starts, positions, lengths, cu_seqlens)
            )
            hidden = model.embeddings.norm(model.embeddings.tok_embeddings(ids))  # (T, hidden)
            dtype = hidden.dtype
            rotary = self._rotary(positions, dtype)
            hidden = self._varlen_layers(hidden, rotary, cu_seqlens, starts, width, pooling)
            return self._pooled(model.final_norm(hidden), lengths, pooling)
        slot = torch.repeat_interleave(torch.arange(n) * width, lengths) + positions  # flat token -> padded slot
        is_pad = torch.ones(n * width, dtype=torch.bool)
        is_pad[slot] = False
        pad_slot = is_pad.nonzero().squeeze(1)
        padded = not bool((lengths == width).all())  # on the host, before the copies
        ids, starts, positions, slot, pad_slot, lengths = (  # no synchronization per batch on a GPU
            to_device(x, device) for x in (ids, starts, positions, slot, pad_slot, lengths)
        )
        # fp32 on the CPU (matmul attention adds them to the scores); off it in the model's dtype, as sdpa wants
        mask_dtype = torch.float32 if device.type == "cpu" else model.embeddings.tok_embeddings.weight.dtype
        masks = self._masks(lengths, width, mask_dtype, padded)

        hidden = model.embeddings.norm(model.embeddings.tok_embeddings(ids))  # (T, hidden)
        dtype = hidden.dtype
        rotary = self._rotary(positions, dtype)
        last, ops = len(model.layers) - 1, self.ops
        for index, layer in enumerate(model.layers):
            layer_type = self.layer_types[index]
            cos, sin = rotary[layer_type]
            padded = ops.attention_inputs(hidden, layer, cos, sin, slot, pad_slot, n * width, self.heads, self.head_dim)
            q, k, v = padded.view(n, width, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4).unbind(0)
            mask = masks[layer_type]
            if index == last and pooling == "cls":  # only the [CLS] queries matter from here on
                q, mask = q[:, :, :1], None if mask is None else mask[:, :, :1]
                out = self._attention(q, k, v, mask).transpose(1, 2).reshape(n, -1)
                hidden = ops.mlp_block(hidden[starts], out, layer)
            else:
                hidden = ops.layer_output(hidden, self._attention(q, k, v, mask), slot, layer)
        return self._pooled(model.final_norm(hidden), lengths, pooling)

    def _pooled(self, hidden: torch.Tensor, lengths: torch.Tensor, pooling: str) -> torch.Tensor:
        """The final hidden states `hidden` ([CLS] rows, or every token) pooled as `pooling` asks."""
        if pooling in ("cls", "none"):
            return hidden
        n, device, dtype = len(lengths), hidden.device, hidden.dtype
        owner = torch.repeat_interleave(torch.arange(n, device=device), lengths, output_size=len(hidden))  # no sync
        sums = torch.zeros((n, hidden.shape[1]), dtype=torch.float32, device=device).index_add_(
            0, owner, hidden.float()
        )
        return (sums / lengths[:, None]).to(dtype)
