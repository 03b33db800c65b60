"""What the lossy inference modes cost on a task: a fine-tuned export scored on its held-out split through the HF
model's own forward (the reference) and through the fast inference path in each mode, in one process.

Per mode: the task's metrics (`docketbert.evaluate`), the share of entries whose prediction (label set, or span
list) equals the reference's, and the seconds the predictions took. The split is the one the fine-tune recorded.

    python -m docketbert.bench lossy runs/ft/citations --task citations \
        --data ../shared/data/entry_citations.jsonl --modes fp32 bf16 int8 openvino_int8 --json lossy.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from docketbert.downstream.evaluation import load_model, predict, score
from docketbert.downstream.tasks import TASKS, load_task, split_by_case
from docketbert.inference.encoder import MODES, Encoder, canonical_mode


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir", help="a docketbert.finetune output")
    parser.add_argument("--task", required=True, choices=list(TASKS))
    parser.add_argument("--data", required=True, help="the task JSONL the model was fine-tuned on")
    parser.add_argument("--modes", nargs="+", default=["fp32", "bf16", "int8"], type=canonical_mode, choices=MODES)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    info = json.loads((Path(args.model_dir) / "docketbert_finetune.json").read_text())
    split, max_length = info["split"], info["config"]["max_length"]
    _, held, _ = split_by_case(load_task(args.data, args.task), split["seed"], split["eval_fraction"])
    model, tokenizer = load_model(args.model_dir, args.task)
    start = time.perf_counter()
    reference = predict(model, tokenizer, held, args.task, max_length)
    rows = {
        "reference": {
            **score(args.task, held, reference),
            "same_as_reference": 1.0,
            "seconds": round(time.perf_counter() - start, 3),
        }
    }
    for mode in args.modes:
        encoder = Encoder.from_pretrained(args.model_dir, device="cpu", mode=mode, max_length=max_length)
        start = time.perf_counter()
        predictions = predict(encoder.model, encoder.tokenizer, held, args.task, max_length, encoder=encoder)
        seconds = time.perf_counter() - start
        same = sum(sorted(p) == sorted(r) for p, r in zip(predictions, reference)) / len(held)
        rows[mode] = {
            **score(args.task, held, predictions),
            "same_as_reference": round(same, 4),
            "seconds": round(seconds, 3),
        }
    key = "f1" if args.task == "citations" else "macro_f1"
    for name, row in rows.items():
        print(
            f"{name:>9}: {key} {row[key]:.4f}  same as reference {row['same_as_reference']:.2%}  "
            f"{row['seconds']:.2f} s",
            file=sys.stderr,
        )
    result = {
        "model_dir": str(args.model_dir),
        "task": args.task,
        "n": len(held),
        "split": {k: split[k] for k in ("seed", "eval_fraction", "n_eval")},
        "threads": torch.get_num_threads(),
        "results": {k: {m: v for m, v in r.items() if m != "per_class"} for k, r in rows.items()},
    }
    print(json.dumps(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return result
