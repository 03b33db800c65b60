"""The lean unpadded forward (`docketbert.model.unpadded`) equals transformers' ModernBertModel run on each entry
alone.

fp32 on the CPU within 1e-5 absolute, for entries shorter and longer than the sliding window, rows above
MATMUL_ATTENTION_MAX_LEN (the sdpa branch), matmul attention whole and in chunks of rows, batches with and without
padding, both poolings, one layer and several; and with varlen attention (tests/model/test_varlen_attention.py has the
rest of that path).
"""

import random

import pytest
import torch
from transformers import BertConfig, BertModel, ModernBertConfig, ModernBertModel

from docketbert.model import unpadded
from docketbert.model.unpadded import UnpaddedEncoder


def model_with(layers: int, dtype=torch.float32) -> ModernBertModel:
    torch.manual_seed(layers)
    # window: |i - j| <= 8; layers 0 and 2 global, 1 local
    config = ModernBertConfig(
        vocab_size=300,
        hidden_size=32,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=48,
        local_attention=16,
        global_attn_every_n_layers=2,
        max_position_embeddings=512,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        cls_token_id=1,
        sep_token_id=2,
        attn_implementation="sdpa",
    )
    return ModernBertModel(config).eval().to(dtype)


def rows_of(lengths, seed=0):
    rng = random.Random(seed)
    return [[1] + [rng.randrange(5, 300) for _ in range(n - 2)] + [2] for n in lengths]


def per_entry(model, rows, pooling):
    out = []
    with torch.no_grad():
        for row in rows:
            hidden = model(input_ids=torch.tensor([row])).last_hidden_state[0]
            out.append(hidden[0] if pooling == "cls" else hidden.mean(0))
    return torch.stack(out)


@pytest.mark.parametrize("pooling", ["cls", "mean"])
@pytest.mark.parametrize("layers", [1, 3])
@pytest.mark.parametrize("lengths", [(3, 7, 9, 17, 40), (12, 12, 12), (140, 60, 9), (200, 200)])
def test_equals_transformers_per_entry(pooling, layers, lengths):
    model = model_with(layers)
    rows = rows_of(lengths)
    got = UnpaddedEncoder(model)(rows, pooling)
    assert got.shape == (len(rows), 32) and got.dtype == torch.float32
    torch.testing.assert_close(got, per_entry(model, rows, pooling), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("layers", [1, 2, 3])  # the last layer global, local, global
def test_varlen_attention_equals_transformers_per_entry(layers):
    """attention="varlen" (the per-entry sdpa reference on the CPU): the same outputs, every pooling, entries shorter
    and longer than the window, with and without padding in the padded layout's terms."""
    model = model_with(layers)
    encoder = UnpaddedEncoder(model, attention="varlen")
    for lengths in ((3, 7, 9, 17, 40), (12, 12, 12), (140, 60, 9)):
        rows = rows_of(lengths)
        for pooling in ("cls", "mean"):
            torch.testing.assert_close(encoder(rows, pooling), per_entry(model, rows, pooling), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(encoder(rows, "none"), UnpaddedEncoder(model, attention="padded")(rows, "none"))


@pytest.mark.parametrize("score_chunk", [1, 100_000, 1 << 20])  # 1 row a chunk / 2 rows (2 x 2 heads x 150^2) / all
def test_both_attention_branches_are_taken(monkeypatch, score_chunk):
    """Long rows go through sdpa and short ones through matmul attention, in chunks of rows or whole; all give the
    reference, for global and local layers."""
    model = model_with(3)
    rows = rows_of((150, 140, 60, 20))
    want = per_entry(model, rows, "mean")
    monkeypatch.setattr(unpadded, "SCORE_CHUNK", score_chunk)
    for limit in (10, 1000):  # every row above the limit / every row below it
        monkeypatch.setattr(unpadded, "MATMUL_ATTENTION_MAX_LEN", {torch.float32: limit})
        torch.testing.assert_close(UnpaddedEncoder(model)(rows, "mean"), want, atol=1e-5, rtol=1e-5)


def test_bf16_weights_stay_close():
    model = model_with(3)
    rows = rows_of((5, 30, 140))
    want = per_entry(model, rows, "mean")
    got = UnpaddedEncoder(model.to(torch.bfloat16))(rows, "mean").float()
    assert torch.nn.functional.cosine_similarity(got, want).min() > 0.99


@pytest.mark.integration
def test_compiled_pieces_equal_eager():
    """compile=True: every piece through torch.compile(dynamic=True) gives the eager result, for every pooling and
    both attention branches; once each kind of batch has been seen, batches of other sizes compile nothing new
    (one graph per kind of batch, not per shape or layer)."""
    from torch._dynamo.utils import counters

    model = model_with(3)
    eager, compiled = UnpaddedEncoder(model), UnpaddedEncoder(model, compile=True)
    kinds = [(3, 7, 9, 17, 40), (140, 60, 9), (12, 12, 12, 5), (12, 12), (200, 30)]
    resized = [(4, 5, 11, 20, 33, 51), (150, 131, 80, 12), (14, 14, 6), (9, 9, 9), (190, 20, 20)]
    graphs = None
    for lengths in kinds + resized:
        if lengths == resized[0]:
            graphs = counters["stats"]["unique_graphs"]
        rows = rows_of(lengths)
        for pooling in ("cls", "mean", "none"):
            torch.testing.assert_close(compiled(rows, pooling), eager(rows, pooling), atol=1e-5, rtol=1e-5)
    assert graphs and counters["stats"]["unique_graphs"] == graphs


def test_other_architectures_are_refused():
    bert = BertModel(
        BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=16)
    )
    with pytest.raises(TypeError, match="ModernBertModel"):
        UnpaddedEncoder(bert)
    with pytest.raises(ValueError, match="unpadded attention"):
        UnpaddedEncoder(model_with(1), attention="flash")
