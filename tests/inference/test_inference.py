"""The inference API and CLI give transformers' per-entry outputs, in input order, for empty and over-long entries.

Tolerances (fp32 CPU): exact mode within 1e-4 absolute of AutoModel run on each entry alone; bf16 weights and
int8 dynamic quantization are lossy: cosine to the exact embedding >= 0.98 per entry (tiny random model).
"""

import csv
import gzip
import json

import numpy as np
import pytest
import torch
from tiny_models import WINDOWED_CONFIG
from transformers import (
    AutoModel,
    AutoTokenizer,
    ModernBertConfig,
    ModernBertForSequenceClassification,
    ModernBertForTokenClassification,
    ModernBertModel,
)

from docketbert.core.batching import token_budget_batches
from docketbert.downstream.infer_job import main as infer_main
from docketbert.downstream.predict import predict
from docketbert.downstream.tasks import GENERIC_SPANS
from docketbert.inference.encoder import Encoder
from docketbert.inference.forwards import pack_rows

MAX_LEN = 48
LONG = "ORDER granting motion to extend time; the deadline for the answer is continued. " * 20


def tiny_config(tok, **extra):
    # tiny_models.WINDOWED_CONFIG (entries cross its window; layers 0 and 3 global) with this tokenizer's ids.
    return ModernBertConfig(
        **{**WINDOWED_CONFIG, "vocab_size": len(tok), "pad_token_id": tok.pad_token_id},
        max_position_embeddings=MAX_LEN,
        cls_token_id=tok.cls_token_id,
        sep_token_id=tok.sep_token_id,
        bos_token_id=tok.cls_token_id,
        eos_token_id=tok.sep_token_id,
        **extra,
    )


@pytest.fixture(scope="module")
def texts(corpus):
    out = []
    with gzip.open(corpus, "rt") as f:
        for line in f:
            out.append(json.loads(line)["text"])
            if len(out) == 40:
                break
    return out[:20] + ["", LONG, "   "] + out[20:]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, tokenizer_dir):
    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("tiny_encoder")
    ModernBertModel(tiny_config(tok)).save_pretrained(out)
    tok.save_pretrained(out)
    return out


def reference(model_dir, texts, pooling="cls"):
    """AutoModel on each entry alone (truncated to MAX_LEN keeping the final [SEP])."""
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir, attn_implementation="eager").eval()
    out = []
    with torch.no_grad():
        for text in texts:
            ids = tok(text)["input_ids"]
            if len(ids) > MAX_LEN:
                ids = ids[: MAX_LEN - 1] + ids[-1:]
            hidden = model(input_ids=torch.tensor([ids]))[0][0]
            out.append(hidden[0] if pooling == "cls" else hidden.mean(0))
    return torch.stack(out).numpy()


@pytest.mark.parametrize("layout", ["unpadded", "padded", "packed"])
@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_embed_equals_transformers_per_entry(model_dir, texts, layout, pooling):
    enc = Encoder.from_pretrained(model_dir, device="cpu", pooling=pooling, layout=layout, token_budget=200)
    got = enc.embed(texts)
    want = reference(model_dir, texts, pooling)
    assert got.shape == (len(texts), 32) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=1e-4)
    tok = AutoTokenizer.from_pretrained(model_dir)
    too_long = sum(len(ids) > MAX_LEN for ids in tok(texts)["input_ids"])
    assert 1 <= too_long < len(texts)
    assert (enc.counts.entries, enc.counts.empty, enc.counts.truncated) == (len(texts), 2, too_long)
    # input order kept: reversed input, reversed output
    np.testing.assert_allclose(enc.embed(texts[::-1]), got[::-1], atol=1e-5)


@pytest.mark.parametrize("mode", ["bf16", "int8"])
def test_lossy_modes_within_tolerance(model_dir, texts, mode):
    exact = Encoder.from_pretrained(model_dir, device="cpu").embed(texts)
    got = Encoder.from_pretrained(model_dir, device="cpu", mode=mode).embed(texts)
    cos = (got * exact).sum(1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(exact, axis=1))
    assert cos.min() >= 0.98, (mode, cos.min())
    assert not np.allclose(got, exact, atol=1e-6)  # really a different computation


def _copy_export(model_dir, tmp_path):
    import shutil

    local = tmp_path / "export"
    shutil.copytree(model_dir, local)
    return local


def _double_embeddings(local):
    """New weights in the same folder: a cached graph of the old ones is stale."""
    model = AutoModel.from_pretrained(local)
    with torch.no_grad():
        model.embeddings.tok_embeddings.weight.mul_(2)
    model.save_pretrained(local)


class _Planted(torch.nn.Module):
    """A graph that answers 42.0 everywhere (what a planted cache file could hold)."""

    def forward(self, input_ids, attention_mask):
        return (input_ids[:, :, None] * 0).float().repeat(1, 1, 32) + 42.0


@pytest.mark.integration
def test_openvino_modes(model_dir, texts, tmp_path):
    """OpenVINO: fp32 equals transformers per entry (CLS and mean pooling); NNCF int8 stays close; the graphs are
    cached beside the weights, reused, rebuilt when the weights change, and a planted graph is never served."""
    import openvino as ov

    from docketbert.inference.openvino_runtime import PooledForward

    local = _copy_export(model_dir, tmp_path)
    for pooling in ("cls", "mean"):
        enc = Encoder.from_pretrained(local, device="cpu", mode="openvino", pooling=pooling, token_budget=200)
        assert enc.layout == "padded"
        got = enc.embed(texts)
        np.testing.assert_allclose(got, reference(model_dir, texts, pooling), atol=1e-4)
        assert (enc.counts.entries, enc.counts.empty) == (len(texts), 2)
    graph = local / "openvino" / "cls.xml"
    stamp = graph.stat().st_mtime_ns
    want = reference(model_dir, texts, "cls")
    int8 = Encoder.from_pretrained(local, device="cpu", mode="openvino_int8").embed(texts)
    cos = (int8 * want).sum(1) / (np.linalg.norm(int8, axis=1) * np.linalg.norm(want, axis=1))
    assert cos.min() >= 0.98 and not np.allclose(int8, want, atol=1e-6)
    assert (local / "openvino" / "cls-int8.xml").exists()
    np.testing.assert_allclose(
        Encoder.from_pretrained(local, device="cpu", mode="openvino").embed(texts), want, atol=1e-4
    )
    assert graph.stat().st_mtime_ns == stamp  # reused
    _double_embeddings(local)
    exact = Encoder.from_pretrained(local, device="cpu").embed(texts[:5])
    np.testing.assert_allclose(
        Encoder.from_pretrained(local, device="cpu", mode="openvino").embed(texts[:5]), exact, atol=1e-4
    )
    assert graph.stat().st_mtime_ns != stamp  # rebuilt for the new weights
    planted = ov.convert_model(
        _Planted(),
        example_input={
            "input_ids": torch.ones((2, 4), dtype=torch.long),
            "attention_mask": torch.ones((2, 4), dtype=torch.long),
        },
    )
    ov.save_model(planted, graph)  # 42s in place of the cached graph, its record kept
    served = Encoder.from_pretrained(local, device="cpu", mode="openvino").embed(texts[:5])
    np.testing.assert_allclose(served, exact, atol=1e-4)
    assert PooledForward  # the converted module is importable on its own (docketbert.inference.openvino_runtime)
    with pytest.raises(ValueError, match="CPU with padded batches"):
        Encoder.from_pretrained(local, device="cpu", mode="openvino", layout="packed")
    with pytest.raises(ValueError, match="not with openvino modes"):
        Encoder.from_pretrained(local, device="cpu", mode="openvino", layout="unpadded")


@pytest.mark.integration
def test_openvino_graphs_run_rotary_as_fused_rope(tmp_path):
    """The rotary embedding compiles to the CPU plugin's fused RoPE kernel, one per query and key of every layer:
    in the converted graph as it comes from the conversion, and in the fp32 and NNCF int8 graphs the runtime caches.
    A rewrite of `_rotary` that breaks OpenVINO's pattern fails here, not only in a benchmark: with `-x2` the
    converted graph runs reference split, negate and concat kernels (and so did base-150M's int8 graph)."""
    from transformers import ModernBertModel

    from docketbert.inference.openvino_runtime import (
        OpenVinoEncoder,
        compile_options,
        convert,
        kernel_count,
        openvino_core,
    )

    config = ModernBertConfig(
        vocab_size=512,
        pad_token_id=3,
        hidden_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
    )
    torch.manual_seed(0)
    encoder = ModernBertModel(config).eval()

    compiled = openvino_core().compile_model(convert(encoder, "cls"), "CPU", compile_options(1))
    assert kernel_count(compiled, "RoPE") == 4
    rows = [[1, *range(5, 5 + n), 2] for n in (3, 17, 40, 90)]
    for quantize in (False, True):
        runtime = OpenVinoEncoder(encoder, tmp_path / "ov", quantize=quantize, calibration=lambda: rows, threads=1)
        assert kernel_count(runtime.request("cls").get_compiled_model(), "RoPE") == 4, quantize


@pytest.mark.integration
@pytest.mark.parametrize("head", ["sequence", "token"])
def test_openvino_predict_equals_the_torch_path(tmp_path, tokenizer_dir, texts, head):
    """`predict` through openvino gives the torch path's labels and scores (sequence) or logits (token); openvino_int8
    keeps the logits close (cosine >= 0.98 per row, the lossy modes' bound)."""
    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    torch.manual_seed(3)
    labels = {0: "O", 1: "B-PARTY", 2: "I-PARTY"} if head == "token" else {0: "motion", 1: "order", 2: "notice"}
    cls = ModernBertForTokenClassification if head == "token" else ModernBertForSequenceClassification
    extra = {} if head == "token" else {"classifier_pooling": "mean"}
    cls(tiny_config(tok, id2label=labels, label2id={v: k for k, v in labels.items()}, **extra)).save_pretrained(
        tmp_path
    )
    tok.save_pretrained(tmp_path)
    torch_enc = Encoder.from_pretrained(tmp_path, device="cpu", token_budget=200)
    rows = torch_enc.tokenize(texts).ids
    want = torch_enc.head_logits(rows)
    for mode, exact in (("openvino", True), ("openvino_int8", False)):
        enc = Encoder.from_pretrained(tmp_path, device="cpu", mode=mode, token_budget=200)
        got = enc.head_logits(rows)
        if head == "token":  # compare each row's real tokens
            got = torch.cat([got[r, : len(ids)] for r, ids in enumerate(rows)])
            ref = torch.cat([want[r, : len(ids)] for r, ids in enumerate(rows)])
        else:
            got, ref = got, want
        if exact:
            torch.testing.assert_close(got, ref, atol=1e-4, rtol=1e-4)
            preds, base = predict(enc, texts), predict(torch_enc, texts)
            if head == "token":
                spans = [[(x["start"], x["end"], x["label"]) for x in p["spans"]] for p in (*preds, *base)]
                assert spans[: len(preds)] == spans[len(preds) :] and any(spans)
                scores = [(x["score"], y["score"]) for p, b in zip(preds, base) for x, y in zip(p["spans"], b["spans"])]
                assert max(abs(x - y) for x, y in scores) < 1e-4
            else:
                assert [p["label"] for p in preds] == [p["label"] for p in base]
                assert max(abs(p["score"] - b["score"]) for p, b in zip(preds, base)) < 1e-4
        else:
            cos = torch.nn.functional.cosine_similarity(got, ref, dim=-1)
            assert cos.min() >= 0.98 and not torch.allclose(got, ref, atol=1e-6), cos.min()


def test_batching_helpers():
    lengths = [5, 40, 3, 17, 40, 1]
    batches = token_budget_batches(lengths, budget=80)
    assert sorted(i for b in batches for i in b) == list(range(6))
    assert all(len(b) * max(lengths[i] for i in b) <= 80 or len(b) == 1 for b in batches)
    rows = pack_rows(lengths, width=45)
    assert sorted(i for r in rows for i in r) == list(range(6)) and all(sum(lengths[i] for i in r) <= 45 for r in rows)


@pytest.mark.parametrize("layout", ["unpadded", "padded"])
@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_predict_sequence_classification(tmp_path, tokenizer_dir, texts, layout, pooling):
    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    torch.manual_seed(1)
    labels = {0: "motion", 1: "order", 2: "notice"}
    model = ModernBertForSequenceClassification(
        tiny_config(tok, id2label=labels, classifier_pooling=pooling, label2id={v: k for k, v in labels.items()})
    )
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    model.eval()
    preds = predict(Encoder.from_pretrained(tmp_path, device="cpu", layout=layout, token_budget=200), texts)
    assert len(preds) == len(texts)
    with torch.no_grad():
        for text, pred in zip(texts, preds):
            ids = tok(text)["input_ids"]
            ids = ids[: MAX_LEN - 1] + ids[-1:] if len(ids) > MAX_LEN else ids
            p = model(input_ids=torch.tensor([ids])).logits[0].softmax(-1)
            assert pred["label"] == labels[int(p.argmax())]
            assert abs(pred["score"] - float(p.max())) < 1e-4
            assert abs(sum(pred["probabilities"].values()) - 1) < 1e-4
    with pytest.raises(ValueError, match="fine-tuned head"):
        predict(Encoder(ModernBertModel(tiny_config(tok)), tok, torch.device("cpu")), ["x"])


def test_predict_token_spans(tmp_path, tokenizer_dir, texts):
    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    torch.manual_seed(2)
    labels = {0: "O", 1: "B-PARTY", 2: "I-PARTY"}
    model = ModernBertForTokenClassification(
        tiny_config(tok, id2label=labels, label2id={v: k for k, v in labels.items()})
    )
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    preds = predict(Encoder.from_pretrained(tmp_path, device="cpu", token_budget=200), texts)
    # the unpadded forward (the CPU default) gives transformers' token logits, entry by entry
    enc = Encoder.from_pretrained(tmp_path, device="cpu")
    rows = enc.tokenize(texts).ids
    got = enc.head_logits(rows)
    model.eval()
    with torch.no_grad():
        for r, ids in enumerate(rows):
            want = model(input_ids=torch.tensor([ids])).logits[0]
            torch.testing.assert_close(got[r, : len(ids)], want, atol=1e-4, rtol=1e-4)
    assert len(preds) == len(texts) and preds[20]["spans"] == []  # the empty entry
    n_spans = 0
    for text, pred in zip(texts, preds):
        for span in pred["spans"]:
            assert span["label"] == "PARTY" and 0 <= span["start"] < span["end"] <= len(text)
            assert span["text"] == text[span["start"] : span["end"]]
            n_spans += 1
    assert n_spans > 0
    # span merging: B starts, I continues, O ends, special tokens are skipped (a head without a recorded task
    # decodes spans trimmed of whitespace)
    logits = torch.eye(3)[[0, 1, 2, 2, 0, 2, 1]]
    offsets = [(0, 0), (0, 3), (3, 5), (6, 8), (9, 10), (11, 12), (13, 14)]
    spans = GENERIC_SPANS.decode(logits, labels, "abcdefghijklmn", offsets)["spans"]
    assert [(s["start"], s["end"]) for s in spans] == [(0, 8), (11, 12), (13, 14)]
    assert [s["label"] for s in spans] == ["PARTY"] * 3 and spans[0]["text"] == "abcdefgh"


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "txt"])
def test_cli_outputs_in_order(tmp_path, model_dir, texts, fmt):
    lines = [t.replace("\n", " ") for t in texts]
    path = tmp_path / f"in.{fmt}"
    if fmt == "jsonl":
        path.write_text("".join(json.dumps({"body": t}) + "\n" for t in lines))
    elif fmt == "csv":
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["id", "description"])
            w.writerows([[i, t] for i, t in enumerate(lines)])
    else:
        path.write_text("\n".join(lines) + "\n")
    want = Encoder.from_pretrained(model_dir, device="cpu").embed(lines)
    extra = ["--text-key", "body"] if fmt == "jsonl" else []
    assert (
        infer_main(
            [
                str(model_dir),
                "--input",
                str(path),
                "--output",
                str(tmp_path / "o.npy"),
                "--device",
                "cpu",
                "--chunk-size",
                "7",
                "--no-progress",
                *extra,
            ]
        )
        == 0
    )
    got = np.load(tmp_path / "o.npy")
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert (
        infer_main(
            [
                str(model_dir),
                "--input",
                str(path),
                "--output",
                str(tmp_path / "o.jsonl"),
                "--device",
                "cpu",
                "--no-progress",
                *extra,
            ]
        )
        == 0
    )
    recs = [json.loads(x) for x in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert [r["index"] for r in recs] == list(range(len(lines)))
    np.testing.assert_allclose(np.array([r["embedding"] for r in recs]), want, atol=1e-5)


def test_cli_errors(tmp_path, model_dir, capsys):
    """User errors are one line on stderr and exit code 2 (the full table: tests/commands/test_command_errors.py)."""
    (tmp_path / "in.txt").write_text("a\n")
    assert infer_main([str(model_dir), "--input", str(tmp_path / "in.txt"), "--output", str(tmp_path / "o.csv")]) == 2
    assert capsys.readouterr().err.strip() == "error: --output must end in .jsonl, .npy, .parquet (got o.csv)"
    missing = tmp_path / "missing.txt"
    assert infer_main([str(model_dir), "--input", str(missing), "--output", str(tmp_path / "o.npy")]) == 2
    assert capsys.readouterr().err.strip() == f"error: --input {missing} does not exist"
    argv = [str(model_dir), "--input", str(tmp_path / "in.txt"), "--output", str(tmp_path / "o.jsonl")]
    assert infer_main([*argv, "--task", "predict", "--device", "cpu", "--no-progress"]) == 2
    assert capsys.readouterr().err.strip().endswith("has no fine-tuned head; use --task embed")


@pytest.mark.integration
def test_fast_bench_variants_run(model_dir):
    from docketbert.bench.protocols import EncoderSource, Settings, synthetic_entries
    from docketbert.bench.variants import VARIANTS

    config = ModernBertConfig.from_pretrained(model_dir)
    source = EncoderSource(config=config, path=str(model_dir), name="tiny")
    entries = [e[:MAX_LEN] for e in synthetic_entries(30, config)]
    settings = Settings(torch.device("cpu"), [8])
    for name in (
        "fp32+unpadded",
        "bf16+unpadded",
        "int8+unpadded",
        "openvino+padded",
        "fp32+packed",
        "bf16+packed_flex+compile",
    ):
        r = VARIANTS[name](source, entries, settings)
        if name == "bf16+packed_flex+compile":
            assert r["status"] == "skipped"
        else:
            assert r["seconds"] > 0 and r["entries"] == 30, r


@pytest.mark.slow
def test_packed_flex_attention_cpu(model_dir, texts):
    """The GPU layout (packed rows, FlexAttention BlockMasks) at tiny size on the CPU (compiles: about a minute)."""
    enc = Encoder.from_pretrained(
        model_dir, device="cpu", layout="packed", attn_implementation="flex_attention", token_budget=512
    )
    np.testing.assert_allclose(enc.embed(texts), reference(model_dir, texts), atol=1e-4)


def test_openvino_default_budget_shrinks_as_the_model_widens(model_dir):
    """The OpenVINO modes batch fewer tokens for wider models (512 for base-150M's 768, 2,048 for scratch-7M's 128),
    the torch paths keep the CPU's 2,048; an explicit budget always wins."""
    from docketbert.inference.encoder import openvino_budget

    assert [openvino_budget(h) for h in (32, 128, 256, 512, 768, 1024)] == [2048, 2048, 1536, 768, 512, 512]
    assert Encoder.from_pretrained(model_dir, device="cpu", mode="openvino").token_budget == 2048  # hidden 32
    assert Encoder.from_pretrained(model_dir, device="cpu", mode="openvino", token_budget=300).token_budget == 300
    assert Encoder.from_pretrained(model_dir, device="cpu", mode="int8").token_budget == 2048


@pytest.mark.integration
def test_default_layouts(model_dir):
    """The CPU default is the lean unpadded forward (compiled or not); runtime modes fall back to padded; unpadded is
    refused with them."""
    assert Encoder.from_pretrained(model_dir, device="cpu").layout == "unpadded"
    assert Encoder.from_pretrained(model_dir, device="cpu", mode="int8").layout == "unpadded"
    assert Encoder.from_pretrained(model_dir, device="cpu", compile=True).layout == "unpadded"  # compiles lazily
    with pytest.raises(ValueError, match="layout unpadded runs the torch model: not with openvino"):
        Encoder.from_pretrained(model_dir, device="cpu", mode="openvino_int8", layout="unpadded")


def test_overlapped_tokenization_keeps_order_and_counts(model_dir, texts):
    """Chunks tokenized by a worker thread while the model runs (the GPU default) give the same embeddings and
    counts as one tokenization call."""
    whole = Encoder.from_pretrained(model_dir, device="cpu")
    chunked = Encoder.from_pretrained(model_dir, device="cpu")
    chunked.overlap_tokenization, chunked.tokenize_chunk = True, 7
    np.testing.assert_allclose(chunked.embed(texts), whole.embed(texts), atol=1e-5)
    assert chunked.counts == whole.counts and chunked.counts.empty == 2


def test_direct_rust_tokenization_equals_the_transformers_call(model_dir, texts):
    """Embeddings tokenize through the Rust tokenizer directly; ids, truncation and counts equal the transformers
    call with offsets (which `predict` for spans uses)."""
    enc = Encoder.from_pretrained(model_dir, device="cpu")
    fast, with_offsets = enc.tokenize(texts), enc.tokenize(texts, offsets=True)
    assert fast.ids == with_offsets.ids and fast.offsets is None and with_offsets.offsets is not None
    assert (fast.empty, fast.truncated) == (with_offsets.empty, with_offsets.truncated) == (2, fast.truncated)
    assert fast.truncated >= 1 and max(map(len, fast.ids)) == MAX_LEN
    assert all(row[0] == enc.tokenizer.cls_token_id and row[-1] == enc.tokenizer.sep_token_id for row in fast.ids)


def test_to_device_copies_to_a_gpu_and_keeps_cpu_tensors():
    """docketbert.core.host_to_device.to_device: the tensor itself on the CPU; on a GPU (where there is one) the same
    values."""
    from docketbert.core.host_to_device import to_device

    t = torch.arange(5)
    assert to_device(t, torch.device("cpu")) is t
    if torch.cuda.is_available():
        assert torch.equal(to_device(t, torch.device("cuda")).cpu(), t)
