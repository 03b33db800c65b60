"""How long a tiny `train.py` run takes, and how long its first batch waits once the trainer is built, from two
checkouts run alternately on the same data (the first is the baseline).

    uv run python experiments/2026-12-08_fork_server_early_start/run_start.py --data MDS --tokenizer TOK \
        --checkouts /tmp/baseline . --rounds 3

Each checkout's `docketbert/train.py` runs with that checkout first on PYTHONPATH, one loader worker, 10 batches.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUILT = "Searching for a previous checkpoint"  # Composer's Trainer is built; fit starts next
FIRST_BATCH = "[batch=1/"


def one_run(checkout: Path, data: str, tokenizer: str, run_root: str) -> tuple[float, float]:
    overrides = {
        "tokenizer": tokenizer, "data.path": data, "run_root": run_root, "device": "cpu",
        "loggers.progress_bar": False, "loggers.tensorboard": False, "loggers.console_log_interval": "1ba",
        "global_train_batch_size": 8, "device_train_microbatch_size": 8, "data.max_seq_len": 64,
        "data.eval_subset_num_batches": 1, "data.num_workers": 1, "model.config.num_hidden_layers": 1,
        "max_duration": "10ba", "eval_interval": "10ba", "save_interval": "10ba",
    }  # fmt: skip
    args = [sys.executable, str(checkout / "docketbert" / "train.py"), str(checkout / "yamls" / "tiny.yaml")]
    args += [f"{k}={v}" for k, v in overrides.items()]
    env = dict(os.environ, PYTHONPATH=str(checkout), WANDB_MODE="offline", OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1")
    start = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    built = first = None
    for line in proc.stdout:
        now = time.perf_counter()
        if built is None and BUILT in line:
            built = now
        if first is None and FIRST_BATCH in line:
            first = now
    if proc.wait() != 0 or built is None or first is None:
        raise SystemExit(f"error: the run from {checkout} failed (exit {proc.returncode})")
    return time.perf_counter() - start, first - built


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="an MDS folder (train and eval splits)")
    parser.add_argument("--tokenizer", required=True, help="the tokenizer the shards were written with")
    parser.add_argument("--checkouts", nargs=2, type=Path, required=True, help="baseline and candidate checkouts")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each checkout, alternating (default 3)")
    args = parser.parse_args()
    times: dict[Path, list[tuple[float, float]]] = {c: [] for c in args.checkouts}
    for _ in range(args.rounds):
        for checkout in args.checkouts:
            with tempfile.TemporaryDirectory() as run_root:
                times[checkout].append(one_run(checkout.resolve(), args.data, args.tokenizer, run_root))
    medians = {}
    for checkout, runs in times.items():
        run, wait = medians[checkout] = [statistics.median(r[i] for r in runs) for i in (0, 1)]
        print(f"{checkout}: run {run:.2f} s, first batch after the trainer {wait:.2f} s (medians of {len(runs)})")
    base, cand = (medians[c] for c in args.checkouts)
    print(f"candidate / baseline: run {cand[0] / base[0]:.2f}x, first-batch wait {cand[1] / base[1]:.2f}x")


if __name__ == "__main__":
    main()
