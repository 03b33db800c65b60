"""Real tokens/s of the training data loader, with 0, 1, 2 and auto workers, in one run, against the rate the GPU
needs.

The loader is the one `docketbert.training.trainer.build_trainer` builds: a StreamingDataset split of an MDS dir
(`open_split`, shuffled, seeded), the masking collator of the tokenizer, and with packing (the GPU default)
`build_packed_loader` (best-fit rows of --width, the collator listing the MLM positions), without it
`build_dataloader`; workers persistent, `prefetch_factor` batches each, `auto` through
`docketbert.core.workers.resolve_num_workers`. Each worker count gets a fresh dataset and loader; the first --warmup
batches (worker start-up, the first shard reads) are not timed, then --batches are, as fast as the loader yields
them (nothing else runs in this process, so this is the loader's ceiling: in training the step shares the CPU with
it). Real tokens = the batches' attention-mask sums. The rate the GPU needs: --need (default: NEEDED).
--start-methods fork,forkserver times workers started by a plain fork beside the
fork server the training loader uses, in the same run.

    uv run python -m docketbert.bench loader --data MDS --tokenizer TOK --json /tmp/loader.json
    uv run python -m docketbert.bench loader --data MDS --tokenizer TOK --workers 0,2,4,auto --rows 64 --width 768
    uv run python -m docketbert.bench loader --data MDS --tokenizer TOK --workers 1,2 --start-methods fork,forkserver
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

from docketbert.core.tokenizer import load_tokenizer
from docketbert.core.workers import available_cpus, resolve_num_workers
from docketbert.data.mds import open_split
from docketbert.data.mlm import MLMCollator, build_dataloader
from docketbert.data.packing import build_packed_loader

# Real tokens/s a GPU step consumes: base-150M's packed step on one H200 (BENCHMARKS.md, "MLM training
# throughput") and the target the reference project sets for it.
NEEDED = (292_000.0, 400_000.0)


def measure(args, tokenizer, workers: int, start_method: str = "forkserver") -> dict:
    """Tokens/s of one loader with `workers` workers started by `start_method` (a dataset of its own, in its own
    local cache dir)."""
    local = tempfile.mkdtemp(prefix="loader_bench_") if args.local else None
    dataset = open_split(args.data, args.split, local, args.rows, True, args.seed)
    collator = MLMCollator.for_tokenizer(tokenizer, mlm_probability=0.3, max_seq_len=args.width, seed=args.seed)
    options = {"num_workers": workers, "pin_memory": False, "prefetch_factor": args.prefetch_factor}
    if args.no_packing:
        loader = build_dataloader(dataset, collator, args.rows, **options)
    else:
        loader = build_packed_loader(dataset, collator, args.width, args.rows, args.buffer, args.seed, **options)
    if workers and start_method != "forkserver":
        loader.multiprocessing_context = start_method  # the loader's own is the fork server
    started = time.perf_counter()
    batches = iter(loader)
    tokens = capacity = timed = 0
    first = None
    try:
        for index in range(args.warmup + args.batches):
            try:
                batch = next(batches)
            except StopIteration:
                break
            if index == 0:
                first = time.perf_counter() - started
            if index == args.warmup:
                t0 = time.perf_counter()
            if index >= args.warmup:
                mask = batch["attention_mask"]
                tokens += int(mask.sum())
                capacity += mask.numel()
                timed += 1
        seconds = time.perf_counter() - t0 if timed else float("nan")
    finally:
        del batches, loader  # ends the workers before the next loader starts its own
    if not timed:
        raise RuntimeError(f"{args.data}/{args.split} ran out before batch {args.warmup + 1}: use fewer --warmup")
    rate = tokens / seconds
    return {
        "workers": workers,
        "start_method": start_method if workers else None,
        "batches": timed,
        "real_tokens": tokens,
        "seconds": seconds,
        "tokens_per_s": rate,
        "ms_per_batch": 1000 * seconds / timed,
        "fill": tokens / capacity,
        "first_batch_s": first,
        **{f"vs_{int(n / 1000)}k": rate / n for n in args.need},
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="an MDS dir (to_mds.py output)")
    parser.add_argument("--tokenizer", required=True, help="the tokenizer directory the shards were made with")
    parser.add_argument("--split", default="train")
    parser.add_argument("--workers", default="0,1,2,auto", help="comma list of worker counts and/or auto")
    parser.add_argument(
        "--start-methods",
        default="forkserver",
        help="comma list of how workers start: forkserver (the loader's), fork, spawn (default forkserver)",
    )
    parser.add_argument("--rows", type=int, default=64, help="rows (packed) or entries per batch (default 64)")
    parser.add_argument("--width", type=int, default=512, help="packed row width / max length (default 512)")
    parser.add_argument("--buffer", type=int, default=2048, help="packing buffer (entries; default 2048)")
    parser.add_argument("--prefetch-factor", type=int, default=4)
    parser.add_argument("--batches", type=int, default=40, help="timed batches per worker count (default 40)")
    parser.add_argument("--warmup", type=int, default=4, help="untimed first batches (default 4)")
    parser.add_argument("--no-packing", action="store_true", help="the unpacked loader (CPU runs' default)")
    parser.add_argument("--local", action="store_true", help="stream through a local cache dir (remote data)")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument(
        "--need", type=float, nargs="+", default=list(NEEDED), help="real tokens/s the GPU step consumes"
    )
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    if not Path(args.data, args.split).exists() and "://" not in args.data:
        print(f"error: no split {args.split!r} under {args.data}", file=sys.stderr)
        return 2
    tokenizer = load_tokenizer(args.tokenizer)
    counts = []
    for word in args.workers.split(","):
        try:
            counts.append((word, resolve_num_workers(word.strip(), 1)))
        except ValueError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    methods = [m.strip() for m in args.start_methods.split(",")]
    bad = [m for m in methods if m not in ("fork", "forkserver", "spawn")]
    if bad:
        print(f"error: --start-methods {', '.join(bad)}: each one of fork, forkserver, spawn", file=sys.stderr)
        return 2
    report = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, {available_cpus()} available",
        "torch_threads": torch.get_num_threads(),
        "data": args.data,
        "packing": not args.no_packing,
        "rows": args.rows,
        "width": args.width,
        "prefetch_factor": args.prefetch_factor,
        "needed_tokens_per_s": args.need,
        "results": {},
    }
    runs = [(m, word, workers) for word, workers in counts for m in (methods if workers else methods[:1])]
    for method, word, workers in runs:
        result = measure(args, tokenizer, workers, method)
        key = word if len(methods) == 1 or not workers else f"{word}/{method}"
        report["results"][key] = result
        needs = ", ".join(f"{result[f'vs_{int(n / 1000)}k']:.2f}x of {n / 1000:.0f}k" for n in args.need)
        print(
            f"workers {key:>14} ({workers}): {result['tokens_per_s']:>10,.0f} real tok/s, "
            f"{result['ms_per_batch']:.1f} ms/batch, fill {result['fill']:.1%}, first batch "
            f"{result['first_batch_s']:.1f} s; {needs}",
            flush=True,
        )
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=2))
    for word, workers in counts:
        if workers and {"fork", "forkserver"} <= set(methods):
            ratio = (
                report["results"][f"{word}/forkserver"]["tokens_per_s"]
                / report["results"][f"{word}/fork"]["tokens_per_s"]
            )
            report.setdefault("forkserver_vs_fork", {})[word] = ratio
            print(f"workers {word}: forkserver / fork = {ratio:.3f}x")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
        print(f"wrote {args.json}")
    return 0
