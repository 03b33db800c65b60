"""Which token budget (rows x longest row per batch) suits the OpenVINO modes on this CPU.

One Encoder per shape and mode (the graph converted, and for int8 calibrated, once), then `embed` of the same texts
end to end with each budget in turn, interleaved rep by rep so a drift of the machine hits every budget alike. The
first budget is the baseline: each other budget's ratio is baseline seconds over its seconds (> 1: faster). Best and
median of --reps are printed, the median decides.

    OMP_NUM_THREADS=2 uv run python bench/openvino_budget.py --shape base-150M scratch-7M --tokenizer TOK \
        --budgets 2048 1024 512 --reps 7 --threads 2 --json /tmp/ov_budget.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch
from transformers import AutoTokenizer, ModernBertConfig, ModernBertModel

from docketbert.bench.protocols import read_texts
from docketbert.inference.encoder import Encoder
from docketbert.model.shapes import SEED_SHAPES

TEXTS = "../shared/data/docket_entries.jsonl.gz"


def measure(shape: str, mode: str, tokenizer, texts: list[str], budgets: list[int], reps: int, cache: str) -> dict:
    config = ModernBertConfig(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id, **SEED_SHAPES[shape])
    torch.manual_seed(0)
    model = ModernBertModel(config).eval()
    enc = Encoder(model, tokenizer, torch.device("cpu"), mode=mode, max_length=768, runtime_cache=cache)
    for budget in budgets:  # warm-up: every batch shape of every budget seen once
        enc.token_budget = budget
        enc.embed(texts)
    seconds: dict[int, list[float]] = {b: [] for b in budgets}
    for _ in range(reps):
        for budget in budgets:
            enc.token_budget = budget
            start = time.perf_counter()
            enc.embed(texts)
            seconds[budget].append(time.perf_counter() - start)
    base = statistics.median(seconds[budgets[0]])
    return {
        str(b): {
            "best_s": round(min(s), 4),
            "median_s": round(statistics.median(s), 4),
            "ratio_vs_first": round(base / statistics.median(s), 3),
        }
        for b, s in seconds.items()
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", nargs="+", default=["base-150M", "scratch-7M"], choices=list(SEED_SHAPES))
    parser.add_argument("--modes", nargs="+", default=["openvino_int8"], choices=["openvino", "openvino_int8"])
    parser.add_argument("--tokenizer", required=True, help="a fast tokenizer directory")
    parser.add_argument("--data", default=TEXTS, help=f"texts to embed (default {TEXTS})")
    parser.add_argument("--entries", type=int, default=200)
    parser.add_argument("--budgets", type=int, nargs="+", default=[2048, 1024, 512], help="the first is the baseline")
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    tokenizer = AutoTokenizer.from_pretrained(args.tokenizer)
    texts = read_texts(args.data, args.entries)
    results: dict = {"entries": len(texts), "threads": torch.get_num_threads(), "reps": args.reps}
    with tempfile.TemporaryDirectory(prefix="docketbert-ov-budget-") as cache:
        for shape in args.shape:
            for mode in args.modes:
                row = measure(shape, mode, tokenizer, texts, args.budgets, args.reps, f"{cache}/{shape}")
                results[f"{shape} {mode}"] = row
                for budget, r in row.items():
                    print(
                        f"{shape:24s} {mode:14s} budget {budget:>6s}: median {r['median_s']:8.3f} s  "
                        f"best {r['best_s']:8.3f} s  {r['ratio_vs_first']:.2f}x vs {args.budgets[0]}",
                        flush=True,
                    )
                if args.json:
                    args.json.write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
