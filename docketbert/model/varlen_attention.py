"""Attention over variable-length entries laid end to end, the one entry point of the varlen path.

Queries, keys and values are (T, heads, head_dim) matrices of the real tokens of several entries, one after the
other; `cu_seqlens` (int32, N + 1) holds the flat index of each entry's first token and the total at the end, so
entry i is rows cu_seqlens[i]:cu_seqlens[i + 1]. Each query attends to the keys of its own entry only, and with a
`window` w (ModernBERT's local layers: `config.sliding_window`, half of `local_attention`) only to keys with
|i - j| <= w, exactly transformers' bidirectional sliding-window mask.

- On CUDA with torch's varlen kernel (`torch.nn.attention.varlen.varlen_attn`, Flash Attention's variable-length
  kernel, shipped by torch; a custom op with autograd that torch.compile traces): fp16/bf16 inputs, or fp32 ones
  under CUDA autocast (cast to the autocast dtype, as sdpa is). Flash's window (left, right) counts keys on each
  side, inclusive, so |i - j| <= w is `window_size=(w, w)`.
- Everywhere else, and when asked: `reference_varlen_attention`, per-entry sdpa (a band mask on windowed entries
  longer than the window), in plain torch, with autograd: the CPU fallback, and what the kernel is checked against.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

HALF_DTYPES = (torch.float16, torch.bfloat16)
IMPLEMENTATIONS = ("auto", "kernel", "reference")


def _probe_kernel() -> bool:
    try:
        from torch.nn.attention.varlen import varlen_attn  # noqa: F401
    except ImportError:
        return False
    return torch.cuda.is_available()


# Probed once at import (cheap: CUDA is not initialised), so that compiled code reads a constant.
_KERNEL = _probe_kernel()


def kernel_available() -> bool:
    """Whether torch ships the varlen kernel and a CUDA device is present."""
    return _KERNEL


def cu_seqlens_from_lengths(lengths: torch.Tensor) -> torch.Tensor:
    """(N + 1,) int32 cumulative offsets of entries with `lengths` tokens, starting at 0, on `lengths`' device."""
    return F.pad(torch.cumsum(lengths, 0), (1, 0)).to(torch.int32)


def _kernel_dtype(q: torch.Tensor) -> torch.dtype | None:
    """The dtype the kernel runs `q` in, or None where it cannot (off CUDA, fp32 outside autocast)."""
    if not q.is_cuda or not kernel_available():
        return None
    if q.dtype in HALF_DTYPES:
        return q.dtype
    if q.dtype == torch.float32 and torch.is_autocast_enabled("cuda"):
        return torch.get_autocast_dtype("cuda")
    return None


def uses_kernel(q: torch.Tensor) -> bool:
    """Whether `varlen_attention(q, ...)` with implementation auto runs torch's varlen kernel."""
    return _kernel_dtype(q) is not None


def varlen_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    cu_seqlens_q: torch.Tensor,
    max_q: int,
    cu_seqlens_k: torch.Tensor | None = None,
    max_k: int | None = None,
    *,
    window: int | None = None,
    scale: float | None = None,
    implementation: str = "auto",
) -> torch.Tensor:
    """Attention of every entry's queries over its own keys: q (Tq, H, D), k and v (Tk, H, D) -> (Tq, H, D).

    `cu_seqlens_k`/`max_k` default to the queries' (self-attention). `max_q`/`max_k` bound the entries' lengths (the
    kernel sizes its grid by them; a row width will do). `window`: keys with |i - j| <= window only, for entries whose
    queries and keys are the same tokens. `scale` defaults to head_dim ** -0.5. `implementation`: auto (the kernel
    where `uses_kernel`, else the reference), kernel (raises where it cannot run) or reference."""
    if implementation not in IMPLEMENTATIONS:
        raise ValueError(f"varlen implementation must be one of {IMPLEMENTATIONS}, not {implementation!r}")
    cu_seqlens_k = cu_seqlens_q if cu_seqlens_k is None else cu_seqlens_k
    max_k = max_q if max_k is None else max_k
    if window is not None and cu_seqlens_k is not cu_seqlens_q:
        raise ValueError("a windowed varlen attention needs the same entries for queries and keys")
    dtype = _kernel_dtype(q) if implementation != "reference" else None
    if implementation == "kernel" and dtype is None:
        raise ValueError("the varlen kernel needs torch.nn.attention.varlen, a CUDA device and fp16/bf16 (or autocast)")
    if dtype is None:
        return reference_varlen_attention(q, k, v, cu_seqlens_q, cu_seqlens_k, window=window, scale=scale)
    from torch.nn.attention.varlen import varlen_attn

    q, k, v = (x.to(dtype) for x in (q, k, v))
    window_size = (-1, -1) if window is None else (window, window)
    return varlen_attn(
        q,
        k,
        v,
        cu_seqlens_q.to(torch.int32),
        cu_seqlens_k.to(torch.int32),
        int(max_q),
        int(max_k),
        scale=scale,
        window_size=window_size,
    )


@torch.compiler.disable  # a loop over host-read offsets: compiled, it would specialise on every batch's offsets
def reference_varlen_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    cu_seqlens_q: torch.Tensor,
    cu_seqlens_k: torch.Tensor | None = None,
    *,
    window: int | None = None,
    scale: float | None = None,
) -> torch.Tensor:
    """`varlen_attention` in plain torch: sdpa on each entry alone ((H, L, D) views), with a boolean band mask
    |i - j| <= window on windowed entries longer than window + 1. Entries without queries are skipped; the offsets
    are read on the host (one copy off the device)."""
    cu_seqlens_k = cu_seqlens_q if cu_seqlens_k is None else cu_seqlens_k
    bounds_q, bounds_k = cu_seqlens_q.tolist(), cu_seqlens_k.tolist()
    if len(bounds_q) != len(bounds_k):
        raise ValueError(f"{len(bounds_q) - 1} query entries but {len(bounds_k) - 1} key entries")
    if bounds_q[-1] != q.shape[0] or bounds_k[-1] != k.shape[0]:
        raise ValueError(f"cu_seqlens end at {bounds_q[-1]}/{bounds_k[-1]}, the tokens are {q.shape[0]}/{k.shape[0]}")
    parts = []
    for (q0, q1), (k0, k1) in zip(zip(bounds_q, bounds_q[1:]), zip(bounds_k, bounds_k[1:])):
        if q1 == q0:
            continue
        if k1 == k0:
            raise ValueError("an entry with queries has no keys")
        mask = None
        if window is not None and k1 - k0 > window + 1:
            if q1 - q0 != k1 - k0:
                raise ValueError("a windowed varlen attention needs the same entries for queries and keys")
            index = torch.arange(k1 - k0, device=q.device)
            mask = (index[:, None] - index[None, :]).abs() <= window
        out = F.scaled_dot_product_attention(
            q[q0:q1].transpose(0, 1), k[k0:k1].transpose(0, 1), v[k0:k1].transpose(0, 1), attn_mask=mask, scale=scale
        )
        parts.append(out.transpose(0, 1))
    if not parts:
        return q.new_empty(q.shape[:-1] + v.shape[-1:])
    return torch.cat(parts)
