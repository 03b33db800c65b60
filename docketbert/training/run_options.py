"""The `auto` settings of a pretraining run resolved for its device: packing, compiling the encoder, and the
attention implementation packed rows need."""

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
    falls back to a slow path; see bench/train_throughput.py)."""
    return _true_false_auto("model.compile", requested, packed_flex_gpu)


def packed_attn_implementation(requested: str, resolved: str, device: str) -> str:
    """Attention for packed rows: flex_attention on GPU unless one was named (it skips the masked blocks; the
    flash-attn package cannot be installed here). sdpa/eager take dense per-entry masks (CPU, or when named)."""
    if requested == "auto":
        return "flex_attention" if device == "gpu" else resolved
    if resolved == "flash_attention_2":
        raise ValueError(
            "data.packing with attn_implementation flash_attention_2 is not supported: "
            "use flex_attention (the default for packed GPU runs), sdpa or eager"
        )
    return resolved
