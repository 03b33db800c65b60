"""Packed rows give each entry exactly the hidden states transformers' ModernBERT gives it alone."""

import pytest
import torch
from tiny_models import WINDOWED_CONFIG
from transformers import ModernBertConfig, ModernBertModel

from docketbert.model.packed_attention import (
    VARLEN,
    dense_masks,
    encode_packed,
    position_ids_for_segments,
    segment_ids_for_rows,
)

# Window of 2 * 4 + 1 tokens, so entries of 20 and 37 tokens cross it; layers 0 and 3 global, 1-2 local.
CONFIG = WINDOWED_CONFIG


def test_positions_restart_per_entry():
    segments = segment_ids_for_rows([[3, 2], [4]], width=6)
    assert segments.tolist() == [[0, 0, 0, 1, 1, -1], [0, 0, 0, 0, -1, -1]]
    assert position_ids_for_segments(segments).tolist() == [[0, 1, 2, 0, 1, 0], [0, 1, 2, 3, 0, 0]]
    with pytest.raises(ValueError, match="more than its width"):
        segment_ids_for_rows([[4, 4]], width=6)


@pytest.mark.parametrize("implementation", ["sdpa", "eager", VARLEN])
def test_packed_equals_each_entry_alone(implementation):
    torch.manual_seed(0)
    config = ModernBertConfig(**CONFIG)
    config._attn_implementation = implementation
    model = ModernBertModel(config).eval()
    assert config.layer_types == ["full_attention", "sliding_attention", "sliding_attention", "full_attention"]
    lengths = [[5, 20, 3], [37], [1, 2, 11]]
    entries = [[torch.randint(1, 128, (n,)) for n in row] for row in lengths]
    width = 40
    input_ids = torch.zeros((len(lengths), width), dtype=torch.long)
    for r, row in enumerate(entries):
        flat = torch.cat(row)
        input_ids[r, : len(flat)] = flat
    segments = segment_ids_for_rows(lengths, width)
    with torch.no_grad():
        packed = encode_packed(model, input_ids, segments)
        for r, row in enumerate(entries):
            start = 0
            for ids in row:
                alone = model(input_ids=ids[None])[0][0]
                got = packed[r, start : start + len(ids)]
                assert torch.allclose(got, alone, atol=1e-5), (implementation, r, len(ids), (got - alone).abs().max())
                start += len(ids)
    assert torch.isfinite(packed).all()


@pytest.mark.slow
def test_flex_attention_block_masks_match():
    """FlexAttention (compiled; about a minute on 2 CPU cores) gives the same hidden states as an entry alone."""
    torch.manual_seed(0)
    config = ModernBertConfig(**CONFIG)
    config._attn_implementation = "flex_attention"
    model = ModernBertModel(config).eval()
    lengths = [[5, 20, 3], [37], [1, 2, 11]]
    input_ids = torch.randint(1, 128, (3, 128))
    with torch.no_grad():
        packed = encode_packed(model, input_ids, segment_ids_for_rows(lengths, 128))
        start = 0
        for n in lengths[0]:
            alone = model(input_ids=input_ids[0:1, start : start + n])[0][0]
            assert torch.allclose(packed[0, start : start + n], alone, atol=1e-5)
            start += n


@pytest.mark.parametrize("implementation", ["sdpa", "eager"])
def test_padding_safe_masks(implementation):
    """Padded batches through the pre-hook: no query has an empty mask row (the padding of a short entry is farther
    than the window from any real token), and real tokens get exactly transformers' outputs; idempotent."""
    from docketbert.model.packed_attention import _padding_safe_masks, install_padding_safe_masks

    torch.manual_seed(0)
    config = ModernBertConfig(**CONFIG)
    config._attn_implementation = implementation
    model = ModernBertModel(config).eval()
    ids = torch.randint(1, 128, (2, 30))
    mask = torch.ones_like(ids)
    mask[1, 6:] = 0
    with torch.no_grad():
        want = model(input_ids=ids, attention_mask=mask)[0]
        install_padding_safe_masks(install_padding_safe_masks(model))
        got = model(input_ids=ids, attention_mask=mask)[0]
    assert len(model._forward_pre_hooks) == 1
    real = mask.bool()
    assert torch.allclose(got[real], want[real], atol=1e-6) and torch.isfinite(got).all()
    _, kwargs = _padding_safe_masks(model, (), {"attention_mask": mask})
    for name, m in kwargs["attention_mask"].items():
        allowed = m if implementation == "sdpa" else m == 0
        assert allowed.any(-1).all(), name  # every query row attends to something
    assert kwargs["position_ids"][1, :6].tolist() == list(range(6))


BLOCK_TABLES = (
    "kv_num_blocks",
    "kv_indices",
    "full_kv_num_blocks",
    "full_kv_indices",
    "q_num_blocks",
    "q_indices",
    "full_q_num_blocks",
    "full_q_indices",
)


@pytest.mark.parametrize("width,window", [(128, 4), (256, 64), (512, 64), (1024, 100), (200, 64), (72, 4), (256, 0)])
def test_block_masks_equal_create_block_mask(width, window):
    """The block tables built from per-block entry ranges equal create_block_mask's, tile for tile, for packed rows
    with entries inside a block, across block edges, longer than a block, ending exactly at an edge, for rows of
    padding only (no query sees another, each sees itself), and for widths that end inside a block."""
    from docketbert.model.packed_attention import block_masks

    rng = torch.Generator().manual_seed(width + window)
    rows = [[], [width], [128, 1, 127][: 1 + width // 200], [60, 70, 1, 300][: 1 + width // 256]]
    for _ in range(6):
        row, left = [], int(torch.randint(0, width + 1, (1,), generator=rng))
        while left:
            row.append(min(left, int(torch.randint(1, 300, (1,), generator=rng))))
            left -= row[-1]
        rows.append(row)
    rows = [[n for n in row if sum(row) <= width] for row in rows]
    segments = segment_ids_for_rows(rows, width)
    ours, reference = block_masks(segments, window), block_masks(segments, window, tables=False)
    for name in ours:
        for table in BLOCK_TABLES:
            got, want = getattr(ours[name], table), getattr(reference[name], table)
            assert got.dtype == want.dtype and torch.equal(got, want), (name, table, got, want)
        assert ours[name].seq_lengths == reference[name].seq_lengths == (width, width)


def test_block_masks_stay_safe_for_any_ids_and_widths():
    """Entry ids that are not contiguous along a row: every tile that attends is still visited (more may be, as
    partial, never as full); and for a width that ends inside a block, the tiles are those of the dense masks."""
    from docketbert.model.packed_attention import block_masks

    segments = torch.tensor([[0] * 100 + [1] * 100 + [0] * 56, [2] * 256])
    ours, reference = block_masks(segments, 4), block_masks(segments, 4, tables=False)
    for name in ours:
        active = [m.to_dense().bool() for m in (ours[name], reference[name])]
        assert (active[0] >= active[1]).all(), name
        full = [m.full_kv_num_blocks.sum() for m in (ours[name], reference[name])]
        assert full[0] <= full[1], name
    odd = segment_ids_for_rows([[50, 120], [200]], 200)
    dense = dense_masks(odd, 4)
    for name, mask in block_masks(odd, 4).items():  # a tile is active where any of its (query, key) pairs attends
        pairs = torch.nn.functional.pad(dense[name][:, 0], (0, 56, 0, 56))
        tiles = pairs.view(2, 2, 128, 2, 128).any(-1).any(-2)
        assert torch.equal(mask.to_dense()[:, 0].bool(), tiles), name
