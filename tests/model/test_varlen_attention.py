"""The varlen attention path (`docketbert.model.varlen_attention`, its use by packed training and the unpadded
forward) on the CPU, where the per-entry sdpa reference runs: the offsets, the window convention against
transformers' own sliding-window mask, positions restarting per entry, the outputs back in input order, and equality
with transformers' padded forward, forward and backward. The kernel itself is checked on a GPU by
gpu_session/gpu_session.py.
"""

import pytest
import torch
from tiny_models import WINDOWED_CONFIG
from transformers import ModernBertConfig, ModernBertForMaskedLM, ModernBertModel
from transformers.masking_utils import sliding_window_bidirectional_overlay

from docketbert.model.masked_lm import MaskedLMModel
from docketbert.model.packed_attention import (
    VARLEN,
    dense_masks,
    encode_packed,
    install_padding_safe_masks,
    segment_ids_for_rows,
    varlen_cu_seqlens,
)
from docketbert.model.unpadded import UnpaddedEncoder
from docketbert.model.varlen_attention import (
    cu_seqlens_from_lengths,
    reference_varlen_attention,
    uses_kernel,
    varlen_attention,
)
from docketbert.training.auto_settings import compiles_by_default, packed_attn_implementation

# local_attention 8: sliding_window 4, |i - j| <= 4; layers 0 and 3 global, 1 and 2 local.
CONFIG = dict(WINDOWED_CONFIG, cls_token_id=1, sep_token_id=2, bos_token_id=1, eos_token_id=2)


def tiny_model(implementation: str, head: bool = False, seed: int = 0):
    torch.manual_seed(seed)
    config = ModernBertConfig(**CONFIG)
    config._attn_implementation = implementation
    model = (ModernBertForMaskedLM if head else ModernBertModel)(config)
    assert config.layer_types == ["full_attention", "sliding_attention", "sliding_attention", "full_attention"]
    return model


def entries_of(lengths, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [
        torch.cat((torch.tensor([1]), torch.randint(5, 128, (n - 2,), generator=g), torch.tensor([2]))) for n in lengths
    ]


def test_cu_seqlens_of_lengths_and_of_packed_rows():
    assert cu_seqlens_from_lengths(torch.tensor([3, 1, 5])).tolist() == [0, 3, 4, 9]
    assert cu_seqlens_from_lengths(torch.tensor([3])).dtype == torch.int32
    # rows of width 6: [3, 2] + 1 padding, [6], [] (all padding), [1, 1, 2] + 2 padding
    segments = segment_ids_for_rows([[3, 2], [6], [], [1, 1, 2]], width=6)
    offsets = varlen_cu_seqlens(segments)
    assert offsets.dtype == torch.int32
    assert offsets.tolist() == [0, 3, 5, 6, 12, 18, 19, 20, 22, 24]
    # a row that ends with an entry and a next row that starts with one of the same id are two runs
    assert varlen_cu_seqlens(segment_ids_for_rows([[4], [4]], width=4)).tolist() == [0, 4, 8]


@pytest.mark.parametrize("window", [None, 0, 1, 4])
def test_reference_equals_sdpa_with_transformers_window_mask(window):
    """Per entry, the reference is sdpa with transformers' bidirectional sliding-window mask (|q - kv| <= window,
    masking_utils' own overlay), or with no mask on global layers; entries shorter and longer than the window."""
    torch.manual_seed(1)
    lengths = [1, 3, 6, 11, 20]
    q, k, v = (torch.randn(sum(lengths), 2, 8) for _ in range(3))
    cu = cu_seqlens_from_lengths(torch.tensor(lengths))
    got = varlen_attention(q, k, v, cu, max(lengths), window=window)
    assert not uses_kernel(q) and got.shape == q.shape
    want = []
    for a, b in zip(cu.tolist(), cu.tolist()[1:]):
        n = b - a
        mask = None
        if window is not None:
            overlay = sliding_window_bidirectional_overlay(window)
            mask = torch.tensor([[overlay(0, 0, i, j) for j in range(n)] for i in range(n)])
        part = [x[a:b].transpose(0, 1) for x in (q, k, v)]
        want.append(torch.nn.functional.scaled_dot_product_attention(*part, attn_mask=mask).transpose(0, 1))
    torch.testing.assert_close(got, torch.cat(want), atol=1e-6, rtol=1e-6)


def test_window_reaches_exactly_window_tokens_each_side():
    """With window w, the output of query i changes with the value at i + w and i - w, not at i +- (w + 1): Flash's
    window_size=(w, w) convention, and transformers' |i - j| <= config.sliding_window."""
    w, n, i = 3, 12, 6
    q, k, v = (torch.randn(n, 1, 4) for _ in range(3))
    cu = torch.tensor([0, n], dtype=torch.int32)
    base = reference_varlen_attention(q, k, v, cu, window=w)[i]
    for j, inside in ((i + w, True), (i - w, True), (i + w + 1, False), (i - w - 1, False)):
        moved = v.clone()
        moved[j] += 10.0
        changed = not torch.allclose(reference_varlen_attention(q, k, moved, cu, window=w)[i], base)
        assert changed == inside, (j, inside)


def test_cross_attention_of_one_query_per_entry():
    """Queries of one token per entry (the [CLS] rows) over each entry's keys equal the first row of full self-
    attention; a window with different query and key entries is refused; the kernel is refused off CUDA."""
    torch.manual_seed(2)
    lengths = torch.tensor([4, 9, 2])
    q, k, v = (torch.randn(int(lengths.sum()), 2, 8) for _ in range(3))
    cu = cu_seqlens_from_lengths(lengths)
    starts = cu[:-1].long()
    one = torch.arange(4, dtype=torch.int32)
    got = varlen_attention(q[starts], k, v, one, 1, cu, 9)
    torch.testing.assert_close(got, varlen_attention(q, k, v, cu, 9)[starts], atol=1e-6, rtol=1e-6)
    with pytest.raises(ValueError, match="same entries"):
        varlen_attention(q[starts], k, v, one, 1, cu, 9, window=2)
    with pytest.raises(ValueError, match="CUDA"):
        varlen_attention(q, k, v, cu, 9, implementation="kernel")


def test_packed_varlen_equals_each_entry_alone():
    """Packed rows through the varlen path: each entry's hidden states are transformers' for the entry alone
    (positions restart per entry, no attention across entries or onto padding), and padding stays finite."""
    model = tiny_model(VARLEN).eval()
    reference = tiny_model("sdpa").eval()  # the same weights (same seed)
    rows = [[5, 20, 3], [37], [1, 2, 11], []]
    width = 40
    input_ids = torch.zeros((len(rows), width), dtype=torch.long)
    entries = [entries_of([max(n, 2) for n in row], seed=r) for r, row in enumerate(rows)]
    entries = [[e[:n] for e, n in zip(es, row)] for es, row in zip(entries, rows)]
    for r, row in enumerate(entries):
        if row:
            flat = torch.cat(row)
            input_ids[r, : len(flat)] = flat
    segments = segment_ids_for_rows(rows, width)
    with torch.no_grad():
        packed = encode_packed(model, input_ids, segments)
        for r, row in enumerate(entries):
            start = 0
            for ids in row:
                alone = reference(input_ids=ids[None])[0][0]
                torch.testing.assert_close(packed[r, start : start + len(ids)], alone, atol=1e-5, rtol=1e-5)
                start += len(ids)
    assert torch.isfinite(packed).all()


def test_padded_batches_through_the_hook():
    """A 2-D padding mask on a varlen model (eval and unpacked batches): the padding-safe pre-hook cuts each row into
    its entry and its padding, and real tokens get transformers' padded sdpa forward."""
    model = install_padding_safe_masks(tiny_model(VARLEN).eval())
    reference = tiny_model("sdpa").eval()
    ids = torch.randint(5, 128, (3, 30))
    mask = torch.ones_like(ids)
    mask[1, 6:] = 0
    mask[2, 17:] = 0
    with torch.no_grad():
        got = model(input_ids=ids, attention_mask=mask)[0]
        want = reference(input_ids=ids, attention_mask=mask)[0]
    real = mask.bool()
    torch.testing.assert_close(got[real], want[real], atol=1e-5, rtol=1e-5)
    assert torch.isfinite(got).all()
    with torch.no_grad():  # no mask and no offsets: each row is one entry
        torch.testing.assert_close(model(input_ids=ids)[0], reference(input_ids=ids)[0], atol=1e-5, rtol=1e-5)


def packed_batch(rows, width, seed=0):
    segments = segment_ids_for_rows(rows, width)
    g = torch.Generator().manual_seed(seed)
    input_ids = torch.where(segments >= 0, torch.randint(5, 128, segments.shape, generator=g), 0)
    labels = torch.where((torch.rand(segments.shape, generator=g) < 0.3) & (segments >= 0), input_ids, -100)
    return {"input_ids": input_ids, "attention_mask": (segments >= 0).long(), "segments": segments, "labels": labels}


def test_training_step_equals_dense_masks():
    """MaskedLMModel on a packed batch: the varlen path's loss and every gradient equal those through sdpa with the
    dense per-entry masks (the reference has autograd); with the batch's own offsets listed, the same again."""
    batch = packed_batch([[5, 20, 3], [37, 2], [9, 9, 9, 9]], width=40)
    models = {name: MaskedLMModel(tiny_model(name, head=True)) for name in (VARLEN, "sdpa")}
    runs = {
        "sdpa": ("sdpa", {}),
        VARLEN: (VARLEN, {}),
        "listed": (VARLEN, {"cu_seqlens": varlen_cu_seqlens(batch["segments"])}),
    }
    grads = {}
    for name, (model_name, extra) in runs.items():
        model = models[model_name]
        model.zero_grad(set_to_none=True)
        loss = model.loss(model({**batch, **extra}), batch)
        loss.backward()
        grads[name] = (loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None})
    for name in (VARLEN, "listed"):
        torch.testing.assert_close(grads[name][0], grads["sdpa"][0], atol=1e-6, rtol=1e-5)
        assert grads[name][1].keys() == grads["sdpa"][1].keys()
        for key, grad in grads[name][1].items():
            torch.testing.assert_close(grad, grads["sdpa"][1][key], atol=1e-6, rtol=1e-4, msg=key)
    dense = dense_masks(batch["segments"], 4)  # the masks the varlen path does without
    assert set(dense) == {"full_attention", "sliding_attention"}


@pytest.mark.parametrize("pooling", ["cls", "mean", "none"])
def test_unpadded_varlen_equals_padded_forward_in_input_order(pooling):
    """The unpadded forward with varlen attention, rows in no particular order (neither sorted nor grouped):
    outputs in input order equal transformers' padded forward of the same rows (real tokens), with entries shorter
    and longer than the window; the last layer global (CLS queries alone) and local (every query, then CLS)."""
    for layers in (4, 3):  # last layer full_attention / sliding_attention
        config = {**CONFIG, "num_hidden_layers": layers}
        torch.manual_seed(0)
        hf = ModernBertModel(ModernBertConfig(**config, attn_implementation="sdpa")).eval()
        lengths = [9, 3, 40, 17, 2, 25]
        rows = [e.tolist() for e in entries_of(lengths, seed=3)]
        encoder = UnpaddedEncoder(hf, attention="varlen")
        assert encoder.uses_varlen() and not UnpaddedEncoder(hf).uses_varlen()  # auto: padded on the CPU
        got = encoder(rows, pooling)
        width = max(lengths)
        ids = torch.zeros((len(rows), width), dtype=torch.long)
        mask = torch.zeros_like(ids)
        for r, row in enumerate(rows):
            ids[r, : len(row)], mask[r, : len(row)] = torch.tensor(row), 1
        with torch.no_grad():
            hidden = hf(input_ids=ids, attention_mask=mask)[0]
        if pooling == "cls":
            want = hidden[:, 0]
        elif pooling == "mean":
            want = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
        else:
            want = hidden[mask.bool()]  # row after row, in input order
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_gpu_defaults_are_the_paths_measured_on_a_gpu():
    """Until the varlen path and its compiled form have run on a GPU, packed GPU runs default to flex_attention
    compiled (the measured path); varlen is one key away (model.attn_implementation), compiling it another."""
    assert packed_attn_implementation("auto", "sdpa", "gpu") == "flex_attention"
    assert packed_attn_implementation("auto", "sdpa", "cpu") == "sdpa"
    assert packed_attn_implementation(VARLEN, VARLEN, "gpu") == VARLEN
    assert packed_attn_implementation("flex_attention", "flex_attention", "gpu") == "flex_attention"
    assert compiles_by_default(True, "flex_attention", "gpu")
    assert not compiles_by_default(True, VARLEN, "gpu") and not compiles_by_default(True, VARLEN, "cpu")
    assert not compiles_by_default(False, "flex_attention", "gpu") and not compiles_by_default(True, "sdpa", "gpu")
