"""Tiny fine-tunes through the real Composer Trainer on held-out cases of the real labelled data, evaluate's
JSON line, and clear errors for bad rows."""

import gzip
import json
import os
import random
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, ModernBertConfig, ModernBertForMaskedLM

from docketbert.downstream import evaluation as evaluate
from docketbert.downstream import finetuning as finetune
from docketbert.report.downstream_table import downstream_table

FILES = {
    "entry_type": "entry_type.jsonl",
    "multilabel": "entry_category_flp.jsonl",
    "citations": "entry_citations.jsonl",
}


@pytest.fixture(scope="module")
def tiny_init(tmp_path_factory, tokenizer_dir):
    """A tiny random ModernBERT MLM export with the test tokenizer: a directory init like a run's hf/."""
    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    cfg = ModernBertConfig(
        vocab_size=len(tok),
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=128,
        global_attn_every_n_layers=2,
        max_position_embeddings=512,
        pad_token_id=tok.pad_token_id,
        cls_token_id=tok.cls_token_id,
        sep_token_id=tok.sep_token_id,
        bos_token_id=tok.cls_token_id,
        eos_token_id=tok.sep_token_id,
    )
    out = tmp_path_factory.mktemp("tiny_init")
    torch.manual_seed(int(os.environ.get("DOCKETBERT_TEST_INIT_SEED", 0)))  # the same weights whatever ran before
    ModernBertForMaskedLM(cfg).save_pretrained(out)
    tok.save_pretrained(out)
    return out


def subset(shared_data, task, tmp_path, n_rows, seed=0):
    """Whole cases of the real file, shuffled with a seed, until n_rows rows."""
    rows = [json.loads(line) for line in Path(shared_data / FILES[task]).read_text().splitlines()]
    cases = sorted({r["case"] for r in rows})
    random.Random(seed).shuffle(cases)
    picked, n = set(), 0
    for case in cases:
        if n >= n_rows:
            break
        picked.add(case)
        n += sum(r["case"] == case for r in rows)
    path = tmp_path / f"{task}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows if r["case"] in picked))
    return path


@pytest.mark.parametrize(
    "task,n_rows,epochs",
    [
        pytest.param("entry_type", 300, 8, marks=pytest.mark.slow),
        pytest.param("multilabel", 300, 8, marks=pytest.mark.slow),
        ("citations", 300, 3),
    ],
)
def test_tiny_finetune_beats_trivial_baseline(shared_data, tiny_init, tmp_path, capsys, task, n_rows, epochs):
    data = subset(shared_data, task, tmp_path, n_rows)
    out = tmp_path / "ft"
    rc = finetune.main(
        [
            "--task",
            task,
            "--train",
            str(data),
            "--init",
            str(tiny_init),
            "--output",
            str(out),
            "--epochs",
            str(epochs),
            "--lr",
            "3e-3",
            "--batch-size",
            "16",
            "--max-length",
            "128",
        ]
    )
    assert rc == 0
    metrics = json.loads((out / "metrics.json").read_text())
    info = json.loads((out / "docketbert_finetune.json").read_text())
    assert info["split"]["eval_cases"] and info["n_eval"] == metrics["n"] > 0
    if task == "citations":
        assert metrics["f1"] > metrics["baselines"]["no_spans"]["f1"] == 0.0, metrics
        assert "regex" in metrics["baselines"]
    else:
        assert metrics["macro_f1"] > metrics["baselines"]["majority"]["macro_f1"], metrics
        assert "tfidf_logreg" in metrics["baselines"]
        exported = AutoModelForSequenceClassification.from_pretrained(out)
        assert set(exported.config.label2id) >= {
            label for c in metrics["per_class"] for label in [c] if metrics["per_class"][c]["support"]
        }
    capsys.readouterr()
    # evaluate scores the same held-out split; its last line is the JSON object with the keys.
    assert evaluate.main([str(out), "--task", task, "--data", str(data), "--heldout", "--no-baselines"]) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    keys = {"precision", "recall", "f1", "n"} if task == "citations" else {"accuracy", "macro_f1", "per_class", "n"}
    assert keys <= set(last) and last["n"] == metrics["n"]
    main_key = "f1" if task == "citations" else "macro_f1"
    assert last[main_key] == pytest.approx(metrics[main_key])
    # --mode scores through the fast inference path: exact gives the same predictions as the model's own forward
    # (a flip needs two logits within ~1e-6), int8 stays close; the JSON says what scored it.
    for mode, tolerance in (("fp32", 0.01), ("int8", 0.1)):
        assert (
            evaluate.main(
                [str(out), "--task", task, "--data", str(data), "--heldout", "--no-baselines", "--mode", mode]
            )
            == 0
        )
        fast = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        cpu = mode == "int8" or not torch.cuda.is_available()
        assert fast["inference"] == {
            "mode": mode,
            "layout": "unpadded" if cpu else "padded",
            "device": "cpu" if cpu else "cuda",
        }
        assert fast["n"] == last["n"] and fast[main_key] == pytest.approx(last[main_key], abs=tolerance)
    if task == "citations":  # python -m docketbert.bench lossy: the same, per mode in one process, with the agreement
        from docketbert.bench import lossy

        result = lossy.main([str(out), "--task", task, "--data", str(data), "--modes", "fp32", "int8"])
        rows = result["results"]
        assert set(rows) == {"reference", "fp32", "int8"} and result["n"] == metrics["n"]
        assert rows["reference"]["f1"] == pytest.approx(metrics["f1"]) and rows["fp32"]["same_as_reference"] > 0.99
        assert all(0 <= r["same_as_reference"] <= 1 and r["seconds"] > 0 for r in rows.values())
    table = downstream_table([out])
    assert f"{metrics[main_key]:.3f}" in table and task in table


def test_bad_rows_give_clear_errors(tiny_init, tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        json.dumps({"text": "ORDER granting 5", "spans": [], "case": "a"})
        + "\n"
        + json.dumps({"text": "RE: 8", "spans": [{"start": 4, "end": 9}], "case": "b"})
        + "\n"
    )
    assert (
        finetune.main(
            ["--task", "citations", "--train", str(bad), "--init", str(tiny_init), "--output", str(tmp_path / "x")]
        )
        == 2
    )
    assert "bad.jsonl:2: span 0 [4, 9) is outside the text (length 5)" in capsys.readouterr().err
    bad.write_text(json.dumps({"text": "RE: 8", "spans": [{"start": 3, "end": 5, "text": "8"}]}) + "\n")
    assert (
        finetune.main(
            ["--task", "citations", "--train", str(bad), "--init", str(tiny_init), "--output", str(tmp_path / "x")]
        )
        == 2
    )
    assert "span 0 text '8' != text[3:5] ' 8'" in capsys.readouterr().err

    # An unknown label at evaluation: a model trained on {motion, order} cannot be scored on 'letter'.
    train = tmp_path / "train.jsonl"
    train.write_text(
        "".join(
            json.dumps({"text": t, "label": l, "case": c}) + "\n"
            for t, l, c in [
                ("MOTION to dismiss", "motion", "a"),
                ("ORDER granting 5", "order", "b"),
                ("MOTION for time", "motion", "c"),
                ("ORDER denying", "order", "d"),
            ]
        )
    )
    evalf = tmp_path / "eval.jsonl"
    evalf.write_text(json.dumps({"text": "Letter to the court", "label": "letter"}) + "\n")
    out = tmp_path / "ft"
    assert (
        finetune.main(
            [
                "--task",
                "entry_type",
                "--train",
                str(train),
                "--eval",
                str(train),
                "--init",
                str(tiny_init),
                "--output",
                str(out),
                "--epochs",
                "1",
                "--no-baselines",
                "--pooling",
                "mean",
                "--balanced",
            ]
        )
        == 0
    )
    assert AutoModelForSequenceClassification.from_pretrained(out).config.classifier_pooling == "mean"
    capsys.readouterr()
    assert evaluate.main([str(out), "--task", "entry_type", "--data", str(evalf)]) == 2
    assert "label 'letter' is not one of the model's 2 labels (motion, order)" in capsys.readouterr().err


def test_yaml_schema_rejects_unknown_keys(tmp_path):
    yaml = tmp_path / "ft.yaml"
    yaml.write_text("task: entry_type\ntrain: x.jsonl\ninit: y\noutput: z\nepochz: 3\n")
    with pytest.raises(ValueError, match="epochz"):
        finetune.load_config(str(yaml), {})
    yaml.write_text("task: entry_type\ntrain: x.jsonl\ninit: y\noutput: z\nepochs: 3\n")
    cfg = finetune.load_config(str(yaml), {"epochs": 5, "lr": None})
    assert cfg.epochs == 5 and cfg.lr == 5e-5
    with pytest.raises(ValueError, match="needs output"):
        finetune.load_config(None, {"task": "entry_type", "train": "a", "init": "b"})
    yaml.write_text("task: entry_type\ntrain: x.jsonl\ninit: y\noutput: z\npooling: max\n")
    with pytest.raises(ValueError, match="pooling 'max' is not one of cls, mean"):
        finetune.load_config(str(yaml), {})


def test_balanced_weights_weigh_each_class_equally():
    items = [{"labels": label} for label in (0, 0, 0, 1)]
    weights = finetune.balanced_weights(items, 3)
    assert weights.tolist() == pytest.approx([4 / 6, 2.0, 0.0])  # 3 x 4/6 == 1 x 2: both classes weigh 2 in all
    with pytest.raises(ValueError, match="balanced .* is for entry_type, not citations"):
        finetune.load_config(None, {"task": "citations", "train": "a", "init": "b", "output": "c", "balanced": True})


def test_length_grouped_batches_cover_every_item_once_with_less_padding(corpus):
    """Entry lengths of the corpus: each epoch yields every item exactly once in as many batches as plain batching,
    epochs differ, the same seed repeats them, and the padding computed is far below shuffled batches'."""
    with gzip.open(corpus, "rt") as f:
        lengths = [len(json.loads(line)["text"]) for line, _ in zip(f, range(1400))]  # characters stand in for tokens
    sampler = finetune.LengthGroupedBatches(lengths, 32, seed=0)
    first, second = list(sampler), list(sampler)
    for epoch in (first, second):
        assert sorted(i for b in epoch for i in b) == list(range(len(lengths)))
        assert len(epoch) == len(sampler) == -(-len(lengths) // 32)
        assert all(len(b) <= 32 for b in epoch)
    assert first != second
    assert list(finetune.LengthGroupedBatches(lengths, 32, seed=0)) == first

    def padded(batches):
        return sum(len(b) * max(lengths[i] for i in b) for b in batches) / sum(lengths)

    shuffled = random.Random(0).sample(range(len(lengths)), len(lengths))
    plain = [shuffled[i : i + 32] for i in range(0, len(shuffled), 32)]
    assert padded(first) < 0.6 * padded(plain), (padded(first), padded(plain))


def test_infer_writes_the_spans_evaluate_scores(shared_data, tiny_init, tmp_path, capsys):
    """One span codec: a fine-tuned citations model's spans from `python -m docketbert.infer` (which finds the task
    and max_length in the fine-tune's record) are, row by row, the spans evaluate scores."""
    from docketbert.downstream.infer_job import main as infer_main
    from docketbert.downstream.metrics import span_metrics
    from docketbert.downstream.tasks import Example, load_task, split_by_case
    from docketbert.inference.encoder import Encoder

    data = subset(shared_data, "citations", tmp_path, 300)
    out = tmp_path / "ft"
    max_length = 64  # shorter than some entries: truncation must match too
    args = ["--task", "citations", "--train", str(data), "--init", str(tiny_init), "--output", str(out)]
    args += ["--epochs", "3", "--lr", "3e-3", "--batch-size", "16", "--max-length", str(max_length)]
    assert finetune.main(args) == 0
    examples = load_task(data, "citations")
    texts = [ex.text for ex in examples]
    inputs = tmp_path / "texts.jsonl"
    inputs.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    served_path = tmp_path / "spans.jsonl"
    capsys.readouterr()
    assert (
        infer_main([str(out), "--input", str(inputs), "--output", str(served_path), "--device", "cpu", "--no-progress"])
        == 0
    )
    summary = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert summary["decoded_as"] == "citations" and summary["max_length"] == max_length and summary["truncated"] > 0
    records = [json.loads(line) for line in served_path.read_text().splitlines()]
    assert [r["index"] for r in records] == list(range(len(texts)))
    served = [[(s["start"], s["end"]) for s in r["spans"]] for r in records]
    for text, r in zip(texts, records):
        assert all(s["text"] == text[s["start"] : s["end"]] and s["text"].isdigit() for s in r["spans"])

    # evaluate's predictions through the same logits (--mode exact: the Encoder's fast path) are the same lists
    unlabelled = [Example(text=t) for t in texts]
    enc = Encoder.from_pretrained(out, device="cpu", mode="fp32", max_length=max_length)
    scored = evaluate.predict(enc.model, enc.tokenizer, unlabelled, "citations", max_length, encoder=enc)
    assert sum(map(len, scored)) >= 50, "the model predicts too few spans for the check to mean anything"
    assert sum(bool(s) for s in scored) >= 20 and sum(not s for s in scored) >= 1
    assert served == scored
    # ... and through the HF model's own forward (evaluate's default) they agree up to logit ties
    model, tokenizer = evaluate.load_model(str(out), "citations")
    forward = evaluate.predict(model, tokenizer, unlabelled, "citations", max_length)
    assert sum(a == b for a, b in zip(served, forward)) >= 0.98 * len(texts)

    # the held-out score evaluate prints is the span F1 of exactly what infer served on those rows
    assert (
        evaluate.main(
            [str(out), "--task", "citations", "--data", str(data), "--heldout", "--no-baselines", "--mode", "fp32"]
        )
        == 0
    )
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    split = json.loads((out / "docketbert_finetune.json").read_text())["split"]
    _, held, _ = split_by_case(examples, split["seed"], split["eval_fraction"])
    index = {id(ex): i for i, ex in enumerate(examples)}
    from_infer = span_metrics([ex.spans for ex in held], [served[index[id(ex)]] for ex in held])
    assert printed["n"] == len(held) and printed["f1"] == from_infer["f1"] > 0
