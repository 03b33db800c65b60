"""The unpadded CPU forward (docketbert/model/unpadded.py; docketbert/unpadded.py in older revisions) at a git
revision against the working tree, in one process.

Both versions run the same random-weight seed shape over the same pre-tokenized entries, in the token-budget
batches the Encoder cuts, taking turns within each round (bench/timing.py); the best of --reps is kept. Prints and
writes each mode's seconds, the speedup of the working tree over the revision, and the largest difference between
their outputs (0 or rounding for exact and bf16; int8 re-quantizes activations, so a rounding difference upstream
can move its output by ~1e-2).

    OMP_NUM_THREADS=2 python bench/unpadded_revisions.py --base 0b1428a --shape scratch-7M base-150M \
        --modes exact bf16 int8 --tokenizer /tmp/tok --threads 2 --json revisions.json
    OMP_NUM_THREADS=2 python bench/unpadded_revisions.py --base 0b1428a --compile --tokenizer /tmp/tok   # compiled
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from cpu_attention import add_common_args, load_rows, random_model

from docketbert.bench.timing import best_seconds, report
from docketbert.core.batching import token_budget_batches
from docketbert.inference.encoder import DEFAULT_BUDGET
from docketbert.model import unpadded

ROOT = Path(__file__).resolve().parents[1]
PATHS = ("docketbert/model/unpadded.py", "docketbert/unpadded.py")  # where the module lives, newest first
# Imports of older revisions whose modules have moved since, and where they are now.
MOVED = {
    "from docketbert.data import flat_ids": "from docketbert.core.batching import flat_ids",
    "from docketbert.transfer import": "from docketbert.core.transfer import",
}


def source_at(revision: str) -> str:
    """The unpadded module's source at `revision`, its moved imports pointed at today's modules."""
    for path in PATHS:
        shown = subprocess.run(["git", "show", f"{revision}:{path}"], cwd=ROOT, capture_output=True, text=True)
        if shown.returncode == 0:
            source = shown.stdout
            for old, new in MOVED.items():
                source = source.replace(old, new)
            return source
    raise SystemExit(f"error: neither {' nor '.join(PATHS)} exists at {revision}")


def module_at(revision: str, folder: Path):
    """The unpadded module as it was at `revision`, imported under another name."""
    source = source_at(revision)
    path = folder / "unpadded_base.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("unpadded_base", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def compare(
    base, shape: str, mode: str, rows: list[list[int]], reps: int, vocab_size: int, pad_id: int, compile: bool = False
) -> dict:
    model = random_model(shape, mode, vocab_size, pad_id)
    batches = [
        [rows[i] for i in batch] for batch in token_budget_batches([len(r) for r in rows], DEFAULT_BUDGET["cpu"])
    ]
    encoders = {
        "base": base.UnpaddedEncoder(model, compile=compile),
        "working tree": unpadded.UnpaddedEncoder(model, compile=compile),
    }
    # the outputs' pass is also the warm-up (with --compile, the compilation)
    outputs = {name: torch.cat([encoder(batch) for batch in batches]).float() for name, encoder in encoders.items()}
    runs = {name: (lambda e=encoder: [e(batch) for batch in batches]) for name, encoder in encoders.items()}
    best = best_seconds(runs, reps)
    return {
        "base_s": round(best["base"], 4),
        "working_tree_s": round(best["working tree"], 4),
        "speedup": round(best["base"] / best["working tree"], 3),
        "max_abs_diff": float((outputs["base"] - outputs["working tree"]).abs().max()),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default="HEAD", help="the git revision to compare against (default: %(default)s)")
    parser.add_argument(
        "--compile", action="store_true", help="both with compile=True (each compiles on a first, untimed pass)"
    )
    add_common_args(parser)
    args = parser.parse_args(argv)
    rows, vocab_size, pad_id = load_rows(args)
    result = {
        "base": args.base,
        "compile": args.compile,
        "threads": torch.get_num_threads(),
        "entries": len(rows),
        "tokens": sum(map(len, rows)),
        "command": " ".join(sys.argv),
        "results": {},
    }
    with tempfile.TemporaryDirectory() as folder, torch.inference_mode():
        base = module_at(args.base, Path(folder))
        for shape in args.shape:
            for mode in args.modes:
                row = compare(base, shape, mode, rows, args.reps, vocab_size, pad_id, args.compile)
                result["results"][f"{shape} {mode}"] = row
                print(f"{shape} {mode}: {row}", file=sys.stderr, flush=True)
    return report(result, args.json)


if __name__ == "__main__":
    main()
