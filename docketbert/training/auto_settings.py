"""The `auto` settings of a pretraining run resolved for its device: packing, compiling the encoder, and the
attention implementation packed rows need."""

from __future__ import annotations

from typing import Any

from docketbert.model.packed_attention import VARLEN

# The packed attention whose compiled form is the one measured on a GPU (flex_attention runs slowly on its eager
# fallback): `model.compile: auto` compiles the encoder for it on a GPU. The varlen path compiles when asked
# (`model.compile: true`) until it has been measured there (gpu_session/README.md).
COMPILED_ON_GPU = ("flex_attention",)
# What packed GPU runs use unless model.attn_implementation names another: the path measured on a GPU.
PACKED_GPU_DEFAULT = "flex_attention"


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
    """`model.compile`: true, false, or auto (on for packed GPU runs whose attention is in COMPILED_ON_GPU,
    `packed_flex_gpu`: see `compiles_by_default` and python -m docketbert.bench training)."""
    return _true_false_auto("model.compile", requested, packed_flex_gpu)


def compiles_by_default(packing: bool, attn: str, device: str) -> bool:
    """What `model.compile: auto` resolves to for a run: packed rows on a GPU with an attention of COMPILED_ON_GPU."""
    return packing and device == "gpu" and attn in COMPILED_ON_GPU


def packed_attn_implementation(requested: str, resolved: str, device: str) -> str:
    """Attention for packed rows: on a GPU unless one was named, flex_attention (it skips the masked blocks; the
    path measured on a GPU); the flash-attn package cannot be installed here. Named `VARLEN` (torch's varlen Flash
    kernel on the entries laid end to end, no masks) is opt-in on a GPU and runs the per-entry sdpa reference off
    it; sdpa/eager take dense per-entry masks (CPU, or when named)."""
    if requested == "auto":
        return PACKED_GPU_DEFAULT if device == "gpu" else resolved
    if resolved == "flash_attention_2":
        raise ValueError(
            "data.packing with attn_implementation flash_attention_2 is not supported: "
            f"use {VARLEN} (the default for packed GPU runs), flex_attention, sdpa or eager"
        )
    return resolved
