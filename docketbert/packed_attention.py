"""Several docket entries in one row, each attending only to itself: masks and positions for ModernBERT.

transformers' ModernBertModel accepts `attention_mask` as a dict {"full_attention": m, "sliding_attention": m}
and explicit `position_ids`. Given per-token segment ids (which entry a token belongs to, -1 for padding), this
module builds both, so HF weights run unchanged on packed rows:
- global layers: a token attends to every token of its own entry;
- local layers: additionally |i - j| <= config.sliding_window (ModernBERT's window, half of local_attention);
- positions restart at 0 for every entry, so rotary embeddings see each entry as if it were alone.
For sdpa and eager the masks are dense (B, 1, L, L); for flex_attention they are BlockMasks, whose fully masked
blocks are skipped, so no attention is computed across entries or on padding.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

PAD_SEGMENT = -1


def segment_ids_for_rows(rows: Sequence[Sequence[int]], width: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """(B, width) segment ids for rows given as lists of entry lengths; positions past the entries are -1."""
    segments = torch.full((len(rows), width), PAD_SEGMENT, dtype=torch.long)
    for r, lengths in enumerate(rows):
        if sum(lengths) > width:
            raise ValueError(f"row {r} holds {sum(lengths)} tokens, more than its width {width}")
        segments[r, : sum(lengths)] = torch.repeat_interleave(torch.arange(len(lengths)), torch.tensor(lengths))
    return segments.to(device)


def position_ids_for_segments(segments: torch.Tensor) -> torch.Tensor:
    """Positions that restart at 0 at the start of every entry (0 on padding)."""
    width = segments.shape[1]
    index = torch.arange(width, device=segments.device).expand_as(segments)
    starts = torch.ones_like(segments, dtype=torch.bool)
    starts[:, 1:] = segments[:, 1:] != segments[:, :-1]
    start_index = torch.where(starts, index, torch.zeros_like(index)).cummax(dim=1).values
    return torch.where(segments >= 0, index - start_index, torch.zeros_like(index))


def dense_masks(segments: torch.Tensor, sliding_window: int, implementation: str = "sdpa",
                dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    """(B, 1, L, L) masks for sdpa (bool, True = attend) or eager (additive float). A padding query attends to
    itself only, so no row of the softmax is empty (an empty row would give NaN)."""
    index = torch.arange(segments.shape[1], device=segments.device)
    same = (segments[:, :, None] == segments[:, None, :]) & (segments[:, :, None] >= 0)
    own = (index[:, None] == index[None, :])[None]
    full = same | own
    local = (same & ((index[:, None] - index[None, :]).abs() <= sliding_window)[None]) | own
    masks = {"full_attention": full[:, None], "sliding_attention": local[:, None]}
    if implementation == "eager":
        lowest = torch.finfo(dtype).min
        masks = {k: torch.zeros(m.shape, dtype=dtype, device=m.device).masked_fill(~m, lowest) for k, m in masks.items()}
    elif implementation != "sdpa":
        raise ValueError(f"dense packed masks are for sdpa or eager, not {implementation!r}")
    return masks


def block_masks(segments: torch.Tensor, sliding_window: int) -> dict[str, "torch.nn.attention.flex_attention.BlockMask"]:
    """FlexAttention BlockMasks for the same pattern as `dense_masks`."""
    from torch.nn.attention.flex_attention import create_block_mask

    batch, width = segments.shape

    def same_entry(b, h, q, kv):
        return ((segments[b, q] == segments[b, kv]) & (segments[b, q] >= 0)) | (q == kv)

    def same_entry_in_window(b, h, q, kv):
        return same_entry(b, h, q, kv) & ((q - kv).abs() <= sliding_window)

    device = segments.device
    return {
        "full_attention": create_block_mask(same_entry, batch, None, width, width, device=device),
        "sliding_attention": create_block_mask(same_entry_in_window, batch, None, width, width, device=device),
    }


def packed_masks(segments: torch.Tensor, config, dtype: torch.dtype = torch.float32) -> dict:
    """The attention-mask dict for a ModernBertModel with `config` (its attention implementation and window)."""
    implementation = config._attn_implementation
    if implementation == "flex_attention":
        return block_masks(segments, config.sliding_window)
    if implementation == "flash_attention_2":
        raise ValueError("flash_attention_2 packs through position_ids, not through masks")
    return dense_masks(segments, config.sliding_window, implementation, dtype)


def encode_packed(encoder, input_ids: torch.Tensor, segments: torch.Tensor) -> torch.Tensor:
    """Run a ModernBertModel on packed rows; returns the last hidden state (B, L, H)."""
    masks = packed_masks(segments, encoder.config, dtype=encoder.embeddings.tok_embeddings.weight.dtype)
    return encoder(input_ids=input_ids, attention_mask=masks, position_ids=position_ids_for_segments(segments))[0]


def padded_segments(attention_mask: torch.Tensor) -> torch.Tensor:
    """Segment ids of a right-padded batch: a packed batch of one entry per row (0), padding -1."""
    return attention_mask.long() - 1


def _padding_safe_masks(module, args, kwargs):
    """Forward pre-hook of a ModernBertModel: a 2-D padding mask becomes this module's per-entry masks, in which a
    padding query attends to itself. With HF's own masks, a padding query whose sliding window holds only padding
    has an empty mask row, and on an H200 the sdpa kernel picked under bf16 (cuDNN) returns NaN gradients for it,
    which spoil every weight (bench/sdpa_padding_check.py). Real tokens get the same masks and positions."""
    mask = kwargs.get("attention_mask")
    if not isinstance(mask, torch.Tensor) or mask.dim() != 2 or module.config._attn_implementation == "flash_attention_2":
        return None
    segments = padded_segments(mask)
    kwargs["attention_mask"] = packed_masks(segments, module.config, dtype=module.embeddings.tok_embeddings.weight.dtype)
    if kwargs.get("position_ids") is None:
        kwargs["position_ids"] = position_ids_for_segments(segments)
    return args, kwargs


def install_padding_safe_masks(model: torch.nn.Module) -> torch.nn.Module:
    """Give every ModernBertModel inside `model` (an encoder, or an HF model with a head) the padding-safe masks of
    `_padding_safe_masks`; idempotent, and nothing is saved with the weights. Returns `model`."""
    from transformers.models.modernbert.modeling_modernbert import ModernBertModel

    for module in model.modules():
        if isinstance(module, ModernBertModel) and not getattr(module, "_docketbert_safe_masks", False):
            module.register_forward_pre_hook(_padding_safe_masks, with_kwargs=True)
            module._docketbert_safe_masks = True
    return model
