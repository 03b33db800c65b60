"""The unpadded CPU forward (docketbert/unpadded.py) at a git revision against the working tree, in one process.

Both versions run the same random-weight seed shape over the same pre-tokenized entries, in the token-budget
batches the Encoder cuts, taking turns within each round (bench/timing.py); the best of --reps is kept. Prints and
writes each mode's seconds, the speedup of the working tree over the revision, and the largest difference between
their outputs (0 or rounding for exact and bf16; int8 re-quantizes activations, so a rounding difference upstream
can move its output by ~1e-2).

    OMP_NUM_THREADS=2 python bench/unpadded_revisions.py --base 0b1428a --shape scratch-7M base-150M \
        --modes exact bf16 int8 --tokenizer /tmp/tok --threads 2 --json revisions.json
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from transformers import AutoTokenizer, ModernBertConfig, ModernBertModel

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from docketbert import unpadded  # noqa: E402
from docketbert.cpu_memory import keep_freed_memory  # noqa: E402
from docketbert.fast_bench import read_texts  # noqa: E402
from docketbert.inference import DEFAULT_BUDGET, apply_mode, token_budget_batches  # noqa: E402
from docketbert.shapes import SEED_SHAPES  # noqa: E402
from timing import best_seconds, report  # noqa: E402


def module_at(revision: str, folder: Path):
    """docketbert/unpadded.py as it was at `revision`, imported under another name."""
    source = subprocess.run(["git", "show", f"{revision}:docketbert/unpadded.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    path = folder / "unpadded_base.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("unpadded_base", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def compare(base, shape: str, mode: str, rows: list[list[int]], reps: int, vocab_size: int, pad_id: int) -> dict:
    config = ModernBertConfig(**SEED_SHAPES[shape], vocab_size=vocab_size, pad_token_id=pad_id)
    torch.manual_seed(0)
    model = apply_mode(ModernBertModel(config).eval(), mode, torch.device("cpu"))
    batches = [[rows[i] for i in batch] for batch in token_budget_batches([len(r) for r in rows],
                                                                           DEFAULT_BUDGET["cpu"])]
    encoders = {"base": base.UnpaddedEncoder(model), "working tree": unpadded.UnpaddedEncoder(model)}
    outputs = {name: torch.cat([encoder(batch) for batch in batches]).float() for name, encoder in encoders.items()}
    runs = {name: (lambda e=encoder: [e(batch) for batch in batches]) for name, encoder in encoders.items()}
    best = best_seconds(runs, reps)
    return {"base_s": round(best["base"], 4), "working_tree_s": round(best["working tree"], 4),
            "speedup": round(best["base"] / best["working tree"], 3),
            "max_abs_diff": float((outputs["base"] - outputs["working tree"]).abs().max())}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default="HEAD", help="the git revision to compare against (default: %(default)s)")
    parser.add_argument("--shape", nargs="+", default=["scratch-7M"], choices=sorted(SEED_SHAPES))
    parser.add_argument("--modes", nargs="+", default=["bf16"], choices=["exact", "bf16", "int8"])
    parser.add_argument("--tokenizer", required=True, help="a fast tokenizer directory")
    parser.add_argument("--input", default="../shared/data/docket_entries.jsonl.gz")
    parser.add_argument("--entries", type=int, default=200)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    keep_freed_memory()  # as the Encoder does on the CPU
    tokenizer = AutoTokenizer.from_pretrained(args.tokenizer)
    rows = tokenizer(read_texts(args.input, args.entries), truncation=True, max_length=8192)["input_ids"]
    result = {"base": args.base, "threads": torch.get_num_threads(), "entries": len(rows),
              "tokens": sum(map(len, rows)), "command": " ".join(sys.argv), "results": {}}
    with tempfile.TemporaryDirectory() as folder, torch.inference_mode():
        base = module_at(args.base, Path(folder))
        for shape in args.shape:
            for mode in args.modes:
                row = compare(base, shape, mode, rows, args.reps, max(len(tokenizer), 50368),
                              tokenizer.pad_token_id or 0)
                result["results"][f"{shape} {mode}"] = row
                print(f"{shape} {mode}: {row}", file=sys.stderr, flush=True)
    return report(result, args.json)


if __name__ == "__main__":
    main()
