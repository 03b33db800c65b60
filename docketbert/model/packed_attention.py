"""Several docket entries in one row, each attending only to itself: masks and positions for ModernBERT.

transformers' ModernBertModel accepts `attention_mask` as a dict {"full_attention": m, "sliding_attention": m}
and explicit `position_ids`. Given per-token segment ids (which entry a token belongs to, -1 for padding), this
module builds both, so HF weights run unchanged on packed rows:
- global layers: a token attends to every token of its own entry;
- local layers: additionally |i - j| <= config.sliding_window (ModernBERT's window, half of local_attention);
- positions restart at 0 for every entry, so rotary embeddings see each entry as if it were alone.
For sdpa and eager the masks are dense (B, 1, L, L); for flex_attention they are BlockMasks, whose fully masked
blocks are skipped, so no attention is computed across entries or on padding.

With `VARLEN` (an attention implementation this module registers with transformers) there are no masks: the rows
are read as one run of tokens, cut into entries by `varlen_cu_seqlens` (each row's padding is a run of its own), and
every layer's attention goes through `docketbert.model.varlen_attention` (torch's varlen Flash kernel on CUDA,
per-entry sdpa elsewhere), with the offsets passed as keyword arguments down to the attention function.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from docketbert.core.batching import PAD_SEGMENT
from docketbert.model.modernbert import token_embeddings
from docketbert.model.varlen_attention import varlen_attention

FLEX_BLOCK = 128  # FlexAttention's default sparse block size
# The attention implementation name of the varlen path in a transformers config (`config._attn_implementation`).
VARLEN = "docketbert_varlen"
# The keyword arguments that carry the offsets from the model call down to `varlen_hf_attention`.
CU_SEQLENS_KEY, MAX_SEQLEN_KEY = "docketbert_cu_seqlens", "docketbert_max_seqlen"
NO_MASKS = {"full_attention": None, "sliding_attention": None}


def segment_ids_for_rows(rows: Sequence[Sequence[int]], width: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """(B, width) segment ids for rows given as lists of entry lengths; positions past the entries are -1."""
    segments = torch.full((len(rows), width), PAD_SEGMENT, dtype=torch.long)
    for r, lengths in enumerate(rows):
        if sum(lengths) > width:
            raise ValueError(f"row {r} holds {sum(lengths)} tokens, more than its width {width}")
        ids = torch.repeat_interleave(torch.arange(len(lengths)), torch.tensor(lengths, dtype=torch.long))
        segments[r, : len(ids)] = ids
    return segments.to(device)


def position_ids_for_segments(segments: torch.Tensor) -> torch.Tensor:
    """Positions that restart at 0 at the start of every entry (0 on padding)."""
    width = segments.shape[1]
    index = torch.arange(width, device=segments.device).expand_as(segments)
    starts = torch.ones_like(segments, dtype=torch.bool)
    starts[:, 1:] = segments[:, 1:] != segments[:, :-1]
    start_index = torch.where(starts, index, torch.zeros_like(index)).cummax(dim=1).values
    return torch.where(segments >= 0, index - start_index, torch.zeros_like(index))


def dense_masks(
    segments: torch.Tensor, sliding_window: int, implementation: str = "sdpa", dtype: torch.dtype = torch.float32
) -> dict[str, torch.Tensor]:
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
        masks = {
            k: torch.zeros(m.shape, dtype=dtype, device=m.device).masked_fill(~m, lowest) for k, m in masks.items()
        }
    elif implementation != "sdpa":
        raise ValueError(f"dense packed masks are for sdpa or eager, not {implementation!r}")
    return masks


def block_masks(
    segments: torch.Tensor, sliding_window: int, tables: bool = True
) -> dict[str, torch.nn.attention.flex_attention.BlockMask]:
    """FlexAttention BlockMasks for the same pattern as `dense_masks`.

    The block tables come from per-block segment ranges (`_block_tables`: a few dozen small ops on the device),
    not from `create_block_mask`, which evaluates the mask on every (query, key) pair: ~800 aten ops and B x L x L
    elements per mask, every training step; both give the same tables. `tables=False`, and windows of 0 or as
    wide as a block, go through `create_block_mask`."""
    from torch.nn.attention.flex_attention import BlockMask, create_block_mask

    batch, width = segments.shape

    def same_entry(b, h, q, kv):
        return ((segments[b, q] == segments[b, kv]) & (segments[b, q] >= 0)) | (q == kv)

    def same_entry_in_window(b, h, q, kv):
        return same_entry(b, h, q, kv) & ((q - kv).abs() <= sliding_window)

    mods = {"full_attention": same_entry, "sliding_attention": same_entry_in_window}
    if not tables or not 0 < sliding_window < FLEX_BLOCK - 1:  # the tables read the window's edge tokens
        return {
            name: create_block_mask(mod, batch, None, width, width, device=segments.device)
            for name, mod in mods.items()
        }
    masks = {}
    for name, (partial, full) in _block_tables(segments, sliding_window).items():
        partial, full = _ordered(partial), _ordered(full)
        # Both patterns are symmetric, so the query-side tables (for the backward pass) equal the key-side ones.
        masks[name] = BlockMask(
            (width, width), *partial, *full, *partial, *full, BLOCK_SIZE=(FLEX_BLOCK, FLEX_BLOCK), mask_mod=mods[name]
        )
    return masks


def _segment_range(segments: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Smallest and largest entry id over the last dimension, padding ignored; (max < min) where all is padding."""
    real = segments >= 0
    big = torch.iinfo(segments.dtype).max
    return torch.where(real, segments, big).amin(-1), torch.where(real, segments, -1).amax(-1)


def _overlap(a: tuple[torch.Tensor, torch.Tensor], b: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """Whether two segment ranges share an entry id: exact for packed rows (ids contiguous and increasing along a
    row), and never False where an entry is shared, whatever the ids."""
    (a_min, a_max), (b_min, b_max) = a, b
    return (a_min <= b_max) & (b_min <= a_max)  # an all-padding range (max, -1) meets nothing


def _block_tables(segments: torch.Tensor, sliding_window: int) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """(partial, full) boolean tables (B, 1, n, n) of FLEX_BLOCK x FLEX_BLOCK tiles for both masks, equal to
    `create_block_mask`'s for packed rows. A tile is full when both blocks hold one and the same entry and no
    padding; it is partial when some pair of it attends (the diagonal always does: every query sees itself).
    Local tiles are never full (the window is narrower than a block) and reach only the neighbouring block,
    through the last `sliding_window` tokens of one block and the first of the next."""
    batch, width = segments.shape
    n = -(-width // FLEX_BLOCK)  # the last block may run past the row: padding there, as in create_block_mask
    padded = torch.nn.functional.pad(segments, (0, n * FLEX_BLOCK - width), value=PAD_SEGMENT)
    blocks = padded.view(batch, n, FLEX_BLOCK)
    lo, hi = _segment_range(blocks)
    one_entry = (blocks >= 0).all(-1) & (lo == hi)
    diagonal = torch.eye(n, dtype=torch.bool, device=segments.device)
    full = one_entry[:, :, None] & one_entry[:, None, :] & (lo[:, :, None] == lo[:, None, :])
    reach = _overlap((lo[:, :, None], hi[:, :, None]), (lo[:, None, :], hi[:, None, :])) | diagonal
    link = _overlap(
        _segment_range(blocks[:, :-1, FLEX_BLOCK - sliding_window :]), _segment_range(blocks[:, 1:, :sliding_window])
    )  # (B, n - 1): block i with block i + 1
    local = diagonal.expand(batch, n, n).clone()
    rows = torch.arange(n - 1, device=segments.device)
    local[:, rows, rows + 1] = link
    local[:, rows + 1, rows] = link
    return {
        "full_attention": ((reach & ~full)[:, None], full[:, None]),
        "sliding_attention": (local[:, None], torch.zeros_like(local)[:, None]),
    }


def _ordered(table: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A boolean tile table -> (count, indices) per query block, in `create_block_mask`'s layout: the active
    key blocks first in increasing order, then the others."""
    table = table.to(torch.int32)
    return (
        table.sum(-1, dtype=torch.int32),
        torch.argsort(table, dim=-1, descending=True, stable=True).to(torch.int32),
    )


def varlen_cu_seqlens(segments: torch.Tensor) -> torch.Tensor:
    """(runs + 1,) int32 offsets of the runs of equal segment id in the flattened (B, L) `segments`, each row
    starting a run: every entry is one run, and so is each row's padding. Computed on the host (one small copy off
    the device), returned on `segments`' device."""
    flat = segments.detach().reshape(-1).cpu()
    starts = torch.ones_like(flat, dtype=torch.bool)
    starts[1:] = flat[1:] != flat[:-1]
    starts[:: segments.shape[1]] = True
    offsets = torch.cat((starts.nonzero().squeeze(1), torch.tensor([len(flat)])))
    return offsets.to(torch.int32).to(segments.device, non_blocking=True)


def varlen_kwargs(segments: torch.Tensor, cu_seqlens: torch.Tensor | None = None) -> dict[str, torch.Tensor | int]:
    """The keyword arguments a ModernBertModel with `VARLEN` attention takes for packed rows `segments`: the runs'
    offsets (`cu_seqlens` where the batch lists them, else `varlen_cu_seqlens`) and the row width, which bounds every
    run (a fixed bound: the same for every batch, so a compiled encoder is not specialised on it)."""
    cu_seqlens = varlen_cu_seqlens(segments) if cu_seqlens is None else cu_seqlens.to(segments.device)
    return {CU_SEQLENS_KEY: cu_seqlens, MAX_SEQLEN_KEY: int(segments.shape[1])}


def varlen_hf_attention(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float | None = None,
    sliding_window: int | None = None,
    dropout: float = 0.0,
    **kwargs,
) -> tuple[torch.Tensor, None]:
    """transformers' attention interface for `VARLEN`: q, k, v (B, H, L, D) -> (B, L, H, D), the B x L tokens read
    as one run cut at the offsets in `kwargs` (`varlen_kwargs`; without them each row is one entry, as transformers
    runs rows without a mask). transformers passes local layers their half window plus one (flash-attn's
    convention); the window is |i - j| <= that - 1."""
    batch, heads, width, head_dim = query.shape
    cu_seqlens = kwargs.get(CU_SEQLENS_KEY)
    if cu_seqlens is None:  # no offsets (no mask, or a model without the pre-hook): each row is one entry
        cu_seqlens = torch.arange(0, batch * width + 1, width, dtype=torch.int32, device=query.device)
    if dropout:
        raise ValueError(f"attention {VARLEN} has no attention dropout (config.attention_dropout must be 0)")

    def flat(x: torch.Tensor) -> torch.Tensor:
        return x.transpose(1, 2).reshape(batch * width, heads, head_dim)

    window = None if sliding_window is None else sliding_window - 1
    max_seqlen = kwargs.get(MAX_SEQLEN_KEY, width)
    out = varlen_attention(flat(query), flat(key), flat(value), cu_seqlens, max_seqlen, window=window, scale=scaling)
    return out.view(batch, width, heads, head_dim), None


def register_varlen_attention() -> None:
    """Make `VARLEN` a name transformers' models accept as their attention implementation (idempotent)."""
    from transformers import AttentionInterface

    AttentionInterface.register(VARLEN, varlen_hf_attention)


register_varlen_attention()


def packed_masks(segments: torch.Tensor, config, dtype: torch.dtype = torch.float32) -> dict:
    """The attention-mask dict for a ModernBertModel with `config` (its attention implementation and window)."""
    implementation = config._attn_implementation
    if implementation == VARLEN:
        return dict(NO_MASKS)
    if implementation == "flex_attention":
        return block_masks(segments, config.sliding_window)
    if implementation == "flash_attention_2":
        raise ValueError("flash_attention_2 packs through position_ids, not through masks")
    return dense_masks(segments, config.sliding_window, implementation, dtype)


def encode_packed(
    encoder, input_ids: torch.Tensor, segments: torch.Tensor, cu_seqlens: torch.Tensor | None = None
) -> torch.Tensor:
    """Run a ModernBertModel on packed rows; returns the last hidden state (B, L, H). With `VARLEN` attention,
    `cu_seqlens` (the batch's own list of `varlen_cu_seqlens`, when it has one) spares the copy off the device."""
    masks = packed_masks(segments, encoder.config, dtype=token_embeddings(encoder).weight.dtype)
    extra = varlen_kwargs(segments, cu_seqlens) if encoder.config._attn_implementation == VARLEN else {}
    positions = position_ids_for_segments(segments)
    return encoder(input_ids=input_ids, attention_mask=masks, position_ids=positions, **extra)[0]


def padded_segments(attention_mask: torch.Tensor) -> torch.Tensor:
    """Segment ids of a right-padded batch: a packed batch of one entry per row (0), padding -1."""
    return attention_mask.long() - 1


def _padding_safe_masks(module, args, kwargs):
    """Forward pre-hook of a ModernBertModel: a 2-D padding mask becomes this module's per-entry masks, in which a
    padding query attends to itself. With HF's own masks, a padding query whose sliding window holds only padding
    has an empty mask row, and on a GPU the sdpa kernel picked under bf16 (cuDNN) returns NaN gradients for it,
    which spoil every weight (gpu_session/sdpa_padding_check.py). Real tokens get the same masks and positions."""
    mask = kwargs.get("attention_mask")
    if (
        not isinstance(mask, torch.Tensor)
        or mask.dim() != 2
        or module.config._attn_implementation == "flash_attention_2"
    ):
        return None
    segments = padded_segments(mask)
    kwargs["attention_mask"] = packed_masks(segments, module.config, dtype=token_embeddings(module).weight.dtype)
    if module.config._attn_implementation == VARLEN:
        kwargs.update(varlen_kwargs(segments))
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
