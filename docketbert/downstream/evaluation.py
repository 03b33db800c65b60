"""Score a fine-tuned model on a task file; the LAST line printed is a JSON object of metrics.

    python -m docketbert.evaluate runs/ft/entry_type --task entry_type --data ../shared/data/entry_type.jsonl \\
        --heldout --split-by-case-seed 0

Classification: accuracy, macro_f1, micro_f1, per_class, n. Extraction: precision, recall, f1 (exact character
match), n. `baselines` holds the same metrics for TF-IDF + logistic regression (trained on the train part of the
split, or --baseline-train) and the majority class, or for the citation regex and "no spans".
With --heldout, only the held-out cases of a seeded by-case split are scored (the seed defaults to the one the
fine-tune recorded, so this is the split the model never saw). With --mode fp32|bf16|int8 the logits come from the
fast inference path (`docketbert.inference`) in that mode, so a lossy mode's cost on the task is measured, not
assumed; the JSON then says which mode, layout and device scored it. Predictions are decoded by the task
(`docketbert.downstream.tasks`: `Task.decode`), the same decoding `docketbert.infer` writes.
MODEL_DIR must hold a fine-tuned head for --task: a task other than the one its docketbert_finetune.json records
is refused (that head would be scored on random weights), as is an export without a head.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import torch

from docketbert.core.tokenizer import check_tokenizer_files
from docketbert.downstream.finetune_record import RECORD, finetune_record, recorded_task
from docketbert.downstream.tasks import (
    TASKS,
    Example,
    Task,
    TaskDataError,
    get_task,
    load_task,
    split_by_case,
    task_for_head,
)
from docketbert.inference.encoder import CPU_MODES, MODES, canonical_mode
from docketbert.model.weights import check_safe_weights, load_pretrained


@torch.no_grad()
def predict_records(
    model,
    tokenizer,
    examples: list[Example],
    task: str | Task,
    max_length: int = 512,
    batch_size: int = 64,
    encoder=None,
) -> list[dict]:
    """Per example, the task's decoded prediction (`Task.decode`: the dicts `docketbert.infer` writes). The logits
    come from `model`'s own forward on batches of `batch_size` in input order (bf16 autocast on a GPU), or, given
    `encoder` (a `docketbert.inference.encoder.Encoder` over the same export), from its fast path on length-sorted
    batches in its mode; the tokenization and the decoding are the same either way."""
    task = get_task(task)
    id2label = {int(k): v for k, v in model.config.id2label.items()}
    enc = task.tokenize(tokenizer, [ex.text for ex in examples], max_length)
    rows = enc["input_ids"]
    logits = (
        _encoder_logits(encoder, rows)
        if encoder is not None
        else _model_logits(model, tokenizer, rows, task, batch_size)
    )
    if not task.token_level:
        return [task.decode(logits[row], id2label) for row in range(len(examples))]
    return [
        task.decode(logits[row][: len(rows[row])], id2label, ex.text, enc["offset_mapping"][row])
        for row, ex in enumerate(examples)
    ]


def predict(model, tokenizer, examples: list[Example], task: str | Task, *args, **kwargs) -> list[list]:
    """What `score` compares, per example: predicted label names (classification) or (start, end) character spans
    (span tasks), from `predict_records` with the same further arguments (see `Task.decode` for each task's rule)."""
    task = get_task(task)
    return [task.scored(r) for r in predict_records(model, tokenizer, examples, task, *args, **kwargs)]


def _model_logits(model, tokenizer, rows: list[list[int]], task: Task, batch_size: int) -> list[torch.Tensor]:
    """Each row's float32 logits on the host from the HF model's forward, batches in input order."""
    device = next(model.parameters()).device
    model.eval()
    collate = task.collator(tokenizer.pad_token_id)
    out = []
    for i in range(0, len(rows), batch_size):
        batch = collate([{"input_ids": ids} for ids in rows[i : i + batch_size]])
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            out.extend(
                model(input_ids=batch["input_ids"].to(device), attention_mask=batch["attention_mask"].to(device))
                .logits.float()
                .cpu()
            )
    return out


def _encoder_logits(encoder, rows: list[list[int]]) -> list[torch.Tensor]:
    """Each row's float32 logits on the host through `encoder` (length-sorted token-budget batches)."""
    from docketbert.core.batching import token_budget_batches

    out: list[torch.Tensor | None] = [None] * len(rows)
    for batch in token_budget_batches([len(r) for r in rows], encoder.token_budget):
        for logits, i in zip(encoder.head_logits([rows[i] for i in batch]), batch):
            out[i] = logits
    return out


def score(task: str | Task, examples: list[Example], predictions: list[list]) -> dict:
    return get_task(task).score(examples, predictions)


def evaluate_examples(
    model,
    tokenizer,
    task: str | Task,
    held: list[Example],
    train: list[Example] | None = None,
    max_length: int = 512,
    baselines: bool = True,
    encoder=None,
) -> dict:
    """The model's metrics on `held` (labels checked against the model's first), plus baselines. `encoder`: score
    through the fast inference path instead (see `predict_records`)."""
    task = get_task(task)
    task.check_labels(held, model.config.label2id, source="evaluation data")
    predictions = predict(model, tokenizer, held, task, max_length, encoder=encoder)
    metrics = {"task": task.name, **task.score(held, predictions)}
    if encoder is not None:
        metrics["inference"] = {"mode": encoder.mode, "layout": encoder.layout, "device": encoder.device.type}
    if baselines:
        metrics["baselines"] = task.baselines(train, held)
    return metrics


def load_model(model_dir: str, task: str | Task):
    from transformers import AutoTokenizer

    model = load_pretrained(get_task(task).model_class(), model_dir, attn_implementation="sdpa")
    if torch.cuda.is_available():
        model = model.cuda()
    return model, AutoTokenizer.from_pretrained(model_dir)


def check_model_dir(model_dir: str, task_name: str) -> dict:
    """The fine-tune record of `model_dir` after checking that it is an export (safetensors weights, tokenizer files
    that read) with a head for `task_name`: the task its record names must be `task_name` (a head of another task
    would be scored on random weights), and without a record the head's config must fit the task. A mismatch is a
    ValueError naming both."""
    from transformers import AutoConfig

    path = Path(model_dir)
    if not (path / "config.json").is_file():
        what = "does not exist" if not path.exists() else "has no config.json"
        raise FileNotFoundError(f"model directory {model_dir} {what}: give a docketbert.finetune output")
    check_safe_weights(path)
    check_tokenizer_files(path)
    info = finetune_record(path)
    recorded = recorded_task(path)
    if recorded is not None and recorded != task_name:
        raise ValueError(
            f"{model_dir} was fine-tuned for task {recorded} ({RECORD}), not {task_name}: use --task {recorded}"
        )
    try:
        config = AutoConfig.from_pretrained(path)
    except (OSError, ValueError) as err:
        raise ValueError(f"{path / 'config.json'} is not a model config ({str(err).splitlines()[0]})") from None
    archs = " ".join(getattr(config, "architectures", None) or [])
    if "ForSequenceClassification" not in archs and "ForTokenClassification" not in archs:
        raise ValueError(f"{model_dir} has no fine-tuned head ({archs or 'no architectures'}): nothing to evaluate")
    task_for_head(config, task_name)  # a token task on a sequence head, or the reverse, is a ValueError
    kind = getattr(config, "problem_type", None)
    wanted = {"entry_type": "single_label_classification", "multilabel": "multi_label_classification"}.get(task_name)
    if recorded is None and kind and wanted and kind != wanted:
        raise ValueError(f"{model_dir}'s head is {kind}; task {task_name} needs {wanted}")
    return info


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m docketbert.evaluate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("model_dir", help="a docketbert.finetune output (HF export)")
    p.add_argument("--task", required=True, choices=list(TASKS))
    p.add_argument("--data", required=True, help="task JSONL (text + label | labels | spans)")
    p.add_argument("--heldout", action="store_true", help="score only the held-out cases of a by-case split")
    p.add_argument("--split-by-case-seed", type=int, help="split seed (default: the fine-tune's, else 0)")
    p.add_argument("--eval-fraction", type=float, help="held-out share (default: the fine-tune's, else 0.2)")
    p.add_argument("--baseline-train", help="train file for TF-IDF + LR when not --heldout")
    p.add_argument("--no-baselines", dest="baselines", action="store_false")
    p.add_argument("--max-length", type=int, help="default: the fine-tune's, else 512")
    p.add_argument(
        "--mode",
        type=canonical_mode,
        choices=MODES,
        help="score through the fast inference path (docketbert.inference.Encoder) in this mode, to see "
        "what a lossy mode costs on the task; int8, openvino and openvino_int8 run on the CPU "
        "(default: the HF model's own forward, fp32 on the CPU)",
    )
    args = p.parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        info = check_model_dir(args.model_dir, args.task)
        if args.max_length is not None and args.max_length < 2:
            raise ValueError(f"--max-length must be >= 2 ([CLS] and [SEP] included), got {args.max_length}")
        if args.eval_fraction is not None and not 0 < args.eval_fraction < 1:
            raise ValueError(f"--eval-fraction must be in (0, 1), got {args.eval_fraction}")
        split = info.get("split", {})
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

            device = "cpu" if args.mode in CPU_MODES else "auto"  # int8 and the runtime modes run on the CPU only
            encoder = Encoder.from_pretrained(args.model_dir, device=device, mode=args.mode, max_length=max_length)
            model, tokenizer = encoder.model, encoder.tokenizer
        else:
            model, tokenizer = load_model(args.model_dir, args.task)
        metrics = evaluate_examples(model, tokenizer, args.task, examples, train, max_length, args.baselines, encoder)
    except (TaskDataError, OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for name, m in metrics.get("baselines", {}).items():
        key = "f1" if "f1" in m and "macro_f1" not in m else "macro_f1"
        print(f"baseline {name}: {key} {m[key]:.4f}")
    print(json.dumps(metrics))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
