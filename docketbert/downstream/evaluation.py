"""Score a fine-tuned model on a task file; the LAST line printed is a JSON object of metrics.

    python -m docketbert.evaluate runs/ft/entry_type --task entry_type --data ../shared/data/entry_type.jsonl \\
        --heldout --split-by-case-seed 0

Classification: accuracy, macro_f1, micro_f1, per_class, n. Extraction: precision, recall, f1 (exact character
match), n. `baselines` holds the same metrics for TF-IDF + logistic regression (trained on the train part of the
split, or --baseline-train) and the majority class, or for the citation regex and "no spans".
With --heldout, only the held-out cases of a seeded by-case split are scored (the seed defaults to the one the
fine-tune recorded, so this is the split the model never saw). With --mode exact|bf16|int8 the logits come from the
fast inference path (`docketbert.inference`) in that mode, so a lossy mode's cost on the task is measured, not
assumed; the JSON then says which mode, layout and device scored it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Optional

import torch

from docketbert.downstream.baselines import regex_spans, tfidf_logreg
from docketbert.downstream.metrics import majority, multilabel_metrics, span_metrics
from docketbert.downstream.spans import decode_tags
from docketbert.downstream.tasks import Example, TaskDataError, check_labels, load_task, split_by_case, task_kind


@torch.no_grad()
def predict(model, tokenizer, examples: list[Example], task: str, max_length: int = 512, batch_size: int = 64,
            encoder=None) -> list[list]:
    """Per example: predicted label names (classification) or (start, end) character spans (citations).
    Multi-label: every label with p > 0.5, or the most likely one when none is. The logits come from `model`'s own
    forward on batches of `batch_size` in input order (bf16 autocast on a GPU), or, given `encoder` (a
    `docketbert.inference.Encoder` over the same export), from its fast path on length-sorted batches in its
    mode; the tokenization and the decoding are the same either way."""
    kind = task_kind(task)
    id2label = {int(k): v for k, v in model.config.id2label.items()}
    enc = tokenizer([ex.text for ex in examples], truncation=True, max_length=max_length,
                    return_offsets_mapping=kind == "spans")
    rows = enc["input_ids"]
    logits = _encoder_logits(encoder, rows) if encoder is not None else _model_logits(model, tokenizer, rows, kind,
                                                                                        batch_size)
    out = []
    for row, ex in enumerate(examples):
        if kind == "spans":
            n = len(rows[row])
            out.append(decode_tags(logits[row][:n].argmax(-1).tolist(), enc["offset_mapping"][row], ex.text))
        elif kind == "single":
            out.append([id2label[int(logits[row].argmax())]])
        else:
            picked = torch.nonzero(logits[row] > 0).flatten().tolist()  # sigmoid > 0.5
            out.append([id2label[j] for j in picked] or [id2label[int(logits[row].argmax())]])
    return out


def _model_logits(model, tokenizer, rows: list[list[int]], kind: str, batch_size: int) -> list[torch.Tensor]:
    """Each row's float32 logits on the host from the HF model's forward, batches in input order."""
    from docketbert.downstream.tasks import Collator

    device = next(model.parameters()).device
    model.eval()
    collate = Collator(tokenizer.pad_token_id, kind)
    out = []
    for i in range(0, len(rows), batch_size):
        batch = collate([{"input_ids": ids} for ids in rows[i:i + batch_size]])
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            out.extend(model(input_ids=batch["input_ids"].to(device),
                             attention_mask=batch["attention_mask"].to(device)).logits.float().cpu())
    return out


def _encoder_logits(encoder, rows: list[list[int]]) -> list[torch.Tensor]:
    """Each row's float32 logits on the host through `encoder` (length-sorted token-budget batches)."""
    from docketbert.core.batching import token_budget_batches

    out: list[torch.Tensor | None] = [None] * len(rows)
    for batch in token_budget_batches([len(r) for r in rows], encoder.token_budget):
        for logits, i in zip(encoder.head_logits([rows[i] for i in batch]), batch):
            out[i] = logits
    return out


def score(task: str, examples: list[Example], predictions: list[list]) -> dict:
    if task_kind(task) == "spans":
        return span_metrics([ex.spans for ex in examples], predictions)
    return multilabel_metrics([ex.labels for ex in examples], predictions)


def baseline_metrics(task: str, train: Optional[list[Example]], held: list[Example]) -> dict:
    kind = task_kind(task)
    if kind == "spans":
        return {"regex": score(task, held, [regex_spans(ex.text) for ex in held]),
                "no_spans": score(task, held, [[] for _ in held])}
    if not train:
        return {}
    common = majority([label for ex in train for label in ex.labels])
    return {"tfidf_logreg": score(task, held, tfidf_logreg(train, held, multi=kind == "multi")),
            "majority": score(task, held, [[common] for _ in held])}


def evaluate_examples(model, tokenizer, task: str, held: list[Example], train: Optional[list[Example]] = None,
                      max_length: int = 512, baselines: bool = True, encoder=None) -> dict:
    """The model's metrics on `held` (labels checked against the model's first), plus baselines. `encoder`: score
    through the fast inference path instead (see `predict`)."""
    if task_kind(task) != "spans":
        check_labels(held, model.config.label2id, source="evaluation data")
    predictions = predict(model, tokenizer, held, task, max_length, encoder=encoder)
    metrics = {"task": task, **score(task, held, predictions)}
    if encoder is not None:
        metrics["inference"] = {"mode": encoder.mode, "layout": encoder.layout, "device": encoder.device.type}
    if baselines:
        metrics["baselines"] = baseline_metrics(task, train, held)
    return metrics


def load_model(model_dir: str, task: str):
    from transformers import AutoModelForSequenceClassification, AutoModelForTokenClassification, AutoTokenizer

    cls = AutoModelForTokenClassification if task_kind(task) == "spans" else AutoModelForSequenceClassification
    model = cls.from_pretrained(model_dir, attn_implementation="sdpa")
    if torch.cuda.is_available():
        model = model.cuda()
    return model, AutoTokenizer.from_pretrained(model_dir)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m docketbert.evaluate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model_dir", help="a docketbert.finetune output (HF export)")
    p.add_argument("--task", required=True, choices=["entry_type", "multilabel", "citations"])
    p.add_argument("--data", required=True, help="task JSONL (text + label | labels | spans)")
    p.add_argument("--heldout", action="store_true", help="score only the held-out cases of a by-case split")
    p.add_argument("--split-by-case-seed", type=int, help="split seed (default: the fine-tune's, else 0)")
    p.add_argument("--eval-fraction", type=float, help="held-out share (default: the fine-tune's, else 0.2)")
    p.add_argument("--baseline-train", help="train file for TF-IDF + LR when not --heldout")
    p.add_argument("--no-baselines", dest="baselines", action="store_false")
    p.add_argument("--max-length", type=int, help="default: the fine-tune's, else 512")
    p.add_argument("--mode", choices=["exact", "bf16", "int8"],
                   help="score through the fast inference path (docketbert.inference.Encoder) in this mode, to see "
                        "what a lossy mode costs on the task; int8 runs on the CPU (default: the HF model's own "
                        "forward, fp32 on the CPU)")
    args = p.parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    info_path = Path(args.model_dir) / "docketbert_finetune.json"
    info = json.loads(info_path.read_text()) if info_path.exists() else {}
    split = info.get("split", {})
    try:
        examples = load_task(args.data, args.task)
        train = load_task(args.baseline_train, args.task) if args.baseline_train else None
        if args.heldout:
            seed = args.split_by_case_seed if args.split_by_case_seed is not None else split.get("seed", 0)
            fraction = args.eval_fraction or split.get("eval_fraction", 0.2)
            train, examples, _ = split_by_case(examples, seed, fraction)
        max_length = args.max_length or info.get("config", {}).get("max_length", 512)
        encoder = None
        if args.mode:
            from docketbert.inference.encoder import Encoder

            device = "cpu" if args.mode == "int8" else "auto"  # dynamic int8 runs on the CPU only
            encoder = Encoder.from_pretrained(args.model_dir, device=device, mode=args.mode, max_length=max_length)
            model, tokenizer = encoder.model, encoder.tokenizer
        else:
            model, tokenizer = load_model(args.model_dir, args.task)
        metrics = evaluate_examples(model, tokenizer, args.task, examples, train, max_length, args.baselines,
                                    encoder)
    except (TaskDataError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for name, m in metrics.get("baselines", {}).items():
        key = "f1" if "f1" in m and "macro_f1" not in m else "macro_f1"
        print(f"baseline {name}: {key} {m[key]:.4f}")
    print(json.dumps(metrics))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
