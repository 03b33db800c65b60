"""Layer slicing: a smaller ModernBERT made of some encoder layers of a trained one.

Embeddings and the kept layers are copied; the final norm and the MLM head (prediction head + decoder bias; the
decoder weight is tied to the embeddings) are copied or re-initialised (`copy_head`). Attention kinds either
follow the source layers (`attention="keep"`) or the reference's fixed pattern (`"every_n"`: global at every n-th
sliced layer, n = `global_attn_every_n_layers`, the reference used 2).
"""

from __future__ import annotations

import copy
from typing import Literal

import torch
from transformers import ModernBertForMaskedLM

from docketbert.model.modernbert import HEAD_PREFIXES, LAYER_KEY, TIED_DECODER_KEY, layer_key

# The reference's published lists (experiments.md), by (num_layers, source_layers). The rule in `layer_indices`
# reproduces every interleaved list but 8 of 28, which the reference chose by hand (step 3, then 4).
REFERENCE_INTERLEAVED: dict[tuple[int, int], list[int]] = {
    (4, 22): [0, 7, 14, 21],
    (6, 28): [0, 5, 10, 15, 20, 25],
    (8, 28): [0, 3, 6, 9, 12, 16, 20, 24],
    (10, 28): [0, 3, 6, 9, 12, 15, 18, 21, 24, 27],
}


def layer_indices(mode: Literal["first", "interleaved"], num_layers: int, source_layers: int) -> list[int]:
    """The source layers to keep. `first`: 0..num_layers-1. `interleaved`: the reference's list where it published one,
    else every `(source_layers - 1) // (num_layers - 1)`-th layer from 0 (which is the reference's rule for 4 of 22,
    6 of 28 and 10 of 28)."""
    if not 1 <= num_layers <= source_layers:
        raise ValueError(f"num_layers {num_layers} must be between 1 and the source's {source_layers} layers")
    if mode == "first":
        return list(range(num_layers))
    if mode != "interleaved":
        raise ValueError(f"slicing mode {mode!r} is not one of first, interleaved")
    if (num_layers, source_layers) in REFERENCE_INTERLEAVED:
        return list(REFERENCE_INTERLEAVED[(num_layers, source_layers)])
    if num_layers == 1:
        return [0]
    step = (source_layers - 1) // (num_layers - 1)
    return [i * step for i in range(num_layers)]


def sliced_layer_types(source_types: list[str], layers: list[int], attention: str, every_n: int) -> list[str]:
    if attention == "keep":
        return [source_types[i] for i in layers]
    if attention == "every_n":
        if every_n < 1:
            raise ValueError(f"global_attn_every_n_layers must be >= 1, got {every_n}")
        return ["sliding_attention" if j % every_n else "full_attention" for j in range(len(layers))]
    raise ValueError(f"attention {attention!r} is not one of keep, every_n")


def check_layers(layers: list[int], source_layers: int) -> list[int]:
    layers = [int(i) for i in layers]
    if not layers:
        raise ValueError("no layers to keep")
    if any(not 0 <= i < source_layers for i in layers):
        raise ValueError(f"layers {layers} out of range for a source with {source_layers} layers")
    if len(set(layers)) != len(layers) or layers != sorted(layers):
        raise ValueError(f"layers {layers} must be distinct and increasing")
    if layers[0] != 0:
        # ModernBERT's layer 0 has no attention norm (an Identity); any other layer would lose its norm there.
        raise ValueError(f"layers {layers} must start with layer 0 (ModernBERT's first layer has no attention norm)")
    return layers


def slice_layers(
    model: ModernBertForMaskedLM,
    layers: list[int],
    *,
    copy_head: bool = True,
    attention: Literal["keep", "every_n"] = "keep",
    global_attn_every_n_layers: int = 2,
) -> ModernBertForMaskedLM:
    """A new ModernBertForMaskedLM with the source's layers `layers` (in that order), on the source's device and
    dtype. The source is not modified."""
    source_config = model.config
    layers = check_layers(layers, source_config.num_hidden_layers)
    config = copy.deepcopy(source_config)
    config.num_hidden_layers = len(layers)
    config.layer_types = sliced_layer_types(
        list(source_config.layer_types), layers, attention, global_attn_every_n_layers
    )
    reference = next(model.parameters())
    with torch.device(reference.device):
        sliced = ModernBertForMaskedLM(config)
    sliced.to(dtype=reference.dtype)

    position = {source: target for target, source in enumerate(layers)}
    wanted = {}
    for key, value in model.state_dict().items():
        match = LAYER_KEY.match(key)
        if match:
            source = int(match.group(1))
            if source in position:
                wanted[layer_key(position[source], match.group(2))] = value
        elif copy_head or not key.startswith(HEAD_PREFIXES):
            wanted[key] = value  # embeddings (and the tied decoder weight through them); head when copied
    missing, unexpected = sliced.load_state_dict(wanted, strict=False)
    if unexpected:
        raise RuntimeError(f"slicing produced keys the sliced model lacks: {unexpected}")
    allowed_missing = () if copy_head else HEAD_PREFIXES
    really_missing = [k for k in missing if not k.startswith(allowed_missing) and k != TIED_DECODER_KEY]
    if really_missing:
        raise RuntimeError(f"slicing left weights uninitialised: {really_missing}")
    sliced.train(model.training)
    return sliced
