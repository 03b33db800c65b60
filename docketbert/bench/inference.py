"""Inference benchmark: the variants of docketbert/bench/variants.py on exported models or named reference shapes, the
reference protocol and the fast paths in one process, with the speedup of each over the reference protocol.

    python -m docketbert.bench base-150M scratch-7M sliced-large-10l-175M --device cuda --json bench.json
    python -m docketbert.bench runs/tiny/hf --data runs/demo/mds --device cpu
    python -m docketbert.bench --end-to-end base-150M --tokenizer TOKENIZER --data docket_entries.jsonl.gz

A MODEL is an exported model directory (config.json) or a reference shape with random weights (the names of
experiments.md; see --list). Pre-tokenized (the default), entries come from --data (an MDS dataset's split, or a
text file tokenized with --tokenizer before timing) or are synthetic: lognormal lengths fitted to the reference's corpus
(mean 67.9, median 49, p99 ~320, max 768) of random non-special ids. With --end-to-end every variant is timed from
the texts of --data (jsonl/csv/txt) to embeddings on the host, tokenization with --tokenizer included.

Variants: reference, sorted and MODE+LAYOUT[+compile] (--list shows them all; the defaults differ per device and per
timing). Defaults per device. cuda: 100,000 entries; the reference protocol at batch size 32 (`--batch-sizes 8 16 ...
4096` gives the reference's full sweep), sorted at 512; every sweep stops after --budget-s seconds (default 150) per
variant and model. cpu: the first 200 entries, batch 32. End to end, the seed and sorted protocols run at the first
of their batch sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import ModernBertConfig, ModernBertModel

from docketbert.bench import protocols
from docketbert.bench.end_to_end import run_end_to_end
from docketbert.bench.variants import VARIANTS, canonical_variant, default_variants, run_variants
from docketbert.core.cpu_memory import keep_freed_memory
from docketbert.core.device import DEVICE_CHOICES, resolve_device
from docketbert.model.shapes import REFERENCE_SHAPES as SHAPES

DEFAULTS = {
    "cuda": {"entries": 100_000, "reference": [32], "sorted": [512], "budget_s": 150.0},
    "cpu": {"entries": 200, "reference": [32], "sorted": [32], "budget_s": None},
}
TEXTS = "../shared/data/docket_entries.jsonl.gz"  # --end-to-end without --data


def shape_name(name: str) -> str:
    """`sliced-large-ft-interleaved-10l-175M` -> `sliced-large-10l-175M` (which layers were kept does not change
    the shape)."""
    return re.sub(r"-(ft|first|interleaved)(?=-)", "", name.removeprefix("docketbert-"))


def resolve_model(spec: str) -> protocols.EncoderSource:
    path = Path(spec)
    if (path / "config.json").exists():
        return protocols.EncoderSource(config=ModernBertConfig.from_pretrained(path), path=str(path), name=str(path))
    if path.exists():
        raise protocols.BenchError(f"{spec} is a path without a config.json (not an exported model)")
    name = shape_name(spec)
    if name not in SHAPES:
        raise protocols.BenchError(f"{spec!r} is neither a model directory nor a known shape ({', '.join(SHAPES)})")
    return protocols.EncoderSource(config=ModernBertConfig(**SHAPES[name]), name=spec)


def check_runnable(names: list[str], device: torch.device) -> None:
    """Refuse named variants that cannot run on `device`, before any model is built or timed."""
    refused = [f"{n} ({VARIANTS[n].why_not})" for n in names if VARIANTS[n].skipped(device)]
    if refused:
        raise protocols.BenchError(f"--variants {', '.join(refused)} cannot run on {device.type}")


def settings_for(device: torch.device, args: argparse.Namespace) -> dict[str, protocols.Settings]:
    d = DEFAULTS[device.type]
    budget = args.budget_s if args.budget_s is not None else d["budget_s"]
    gpu_attn = "sdpa"
    if device.type == "cuda":
        from docketbert.model.build import resolve_attn_implementation

        gpu_attn = resolve_attn_implementation("auto", on_gpu=True)
    out = {
        name: protocols.Settings(device, args.batch_sizes or d.get(name, d["reference"]), budget, gpu_attn)
        for name in VARIANTS
    }
    out["default"] = protocols.Settings(device, args.batch_sizes or d["reference"], budget, gpu_attn)
    return out


def load_entries(args: argparse.Namespace, source: protocols.EncoderSource, n: int, tokenizer) -> tuple[list, str]:
    """Pre-tokenized entries: an MDS split, a text file tokenized now, or synthetic."""
    if args.data and Path(args.data, args.split).is_dir():
        return protocols.mds_entries(args.data, args.split, n), f"{args.data}/{args.split}"
    if args.data:
        texts = protocols.read_texts(args.data, n)
        rows = tokenizer(texts, truncation=True, max_length=protocols.LENGTH_MAX)["input_ids"]
        return [np.asarray(r, dtype=np.int64) for r in rows], f"{args.data} (tokenized before timing)"
    return protocols.synthetic_entries(
        n, source.config, seed=args.seed
    ), "synthetic (lognormal fitted to the reference's corpus)"


def format_table(report: dict[str, Any]) -> str:
    lines = ["| model | variant | best batch | seconds | entries/s | speedup |", "|---|---|---:|---:|---:|---:|"]
    for model in report["models"]:
        for name, r in model["results"].items():
            secs = f"{r['seconds']:.3f}" if r.get("seconds") is not None else r.get("status", "–")
            eps = f"{r['entries_per_s']:.1f}" if r.get("entries_per_s") else "–"
            speed = f"{r['speedup']:.2f}x" if r.get("speedup") else "–"
            batch = r.get("best_batch_size") or "–"
            lines.append(f"| {model['model']} | {name} | {batch} | {secs} | {eps} | {speed} |")
    return "\n".join(lines)


def list_all() -> str:
    shapes = [f"{n}: {c or 'ModernBertConfig() defaults'}" for n, c in SHAPES.items()]
    variants = [f"{n}: {v.label}" + (f" [{v.why_not}]" if v.why_not else "") for n, v in VARIANTS.items()]
    defaults = [
        f"default {d}{' --end-to-end' if e else ''}: {' '.join(default_variants(torch.device(d), e))}"
        for d in ("cpu", "cuda")
        for e in (False, True)
    ]
    return "\n".join(["shapes:", *shapes, "", "variants:", *variants, "", *defaults])


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m docketbert.bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("models", nargs="*", metavar="MODEL", help="exported model directory or reference shape name")
    p.add_argument(
        "--shape",
        nargs="+",
        action="extend",
        default=[],
        metavar="NAME",
        help="reference shapes with random weights (the same as naming them as MODEL; --list shows them)",
    )
    p.add_argument("--device", choices=DEVICE_CHOICES, default="auto", help="default: cuda when available")
    p.add_argument(
        "--variants",
        nargs="+",
        metavar="NAME",
        type=canonical_variant,
        help="variants to run (default per device and timing: --list); reference always runs",
    )
    p.add_argument(
        "--end-to-end",
        action="store_true",
        help="time from the texts of --data, tokenization included (needs --tokenizer)",
    )
    p.add_argument("--tokenizer", help="a fast tokenizer directory (for --end-to-end, or a text file as --data)")
    p.add_argument(
        "--data",
        help="an MDS dataset (folder with --split) or a text file (jsonl/csv/txt) to take "
        f"entries from (--end-to-end: a text file, default {TEXTS})",
    )
    p.add_argument("--split", default="eval", help="the MDS split of --data (default eval)")
    p.add_argument(
        "--entries",
        type=int,
        help="entries to time (default: 100000 on cuda, 200 on cpu; the data repeated when shorter)",
    )
    p.add_argument(
        "--batch-sizes",
        type=int,
        nargs="+",
        help="batch sizes of seed and sorted (default per device; end to end: the first)",
    )
    p.add_argument(
        "--budget-s",
        type=float,
        help="stop a batch-size sweep after this many seconds (default: 150 on cuda, none on cpu)",
    )
    p.add_argument("--reps", type=int, default=1, help="--end-to-end: timed repetitions per variant, the best kept")
    p.add_argument(
        "--reference-entries",
        type=int,
        help="--end-to-end: time seed and sorted on the first N entries only "
        "and scale to --entries (recorded; keeps a GPU call short)",
    )
    p.add_argument(
        "--profile-entries",
        type=int,
        default=0,
        metavar="N",
        help="--end-to-end: after timing, profile each fast variant on the first N entries "
        "(torch.profiler): top ops by device time and, on a GPU, its busy fraction (in the JSON)",
    )
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic entries")
    p.add_argument("--json", type=Path, help="also write the results here (after every model)")
    p.add_argument("--list", action="store_true", help="list the named shapes and the variants, and exit")
    args = p.parse_args(argv)
    unknown = [name for name in args.shape if name not in SHAPES]
    if unknown:
        p.error(f"unknown --shape {', '.join(unknown)}; one of {', '.join(SHAPES)}")
    unknown = [name for name in args.variants or [] if name not in VARIANTS]
    if unknown:
        p.error(f"unknown --variants {', '.join(unknown)}; see --list")
    args.models = [*args.models, *args.shape]
    if not args.models and not args.list:
        p.error("give at least one MODEL (or --list)")
    if args.end_to_end and not args.tokenizer:
        p.error("--end-to-end needs --tokenizer")
    if args.data and not args.end_to_end and not args.tokenizer and not Path(args.data, args.split).is_dir():
        p.error(f"--data {args.data} is not an MDS dataset with a {args.split} split: a text file needs --tokenizer")
    if args.entries is not None and args.entries < 1:
        p.error("--entries must be positive")
    if args.batch_sizes and min(args.batch_sizes) < 1:
        p.error("--batch-sizes must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.list:
        print(list_all())
        return 0
    try:
        device = resolve_device(args.device)
        check_runnable(args.variants or [], device)
        sources = [resolve_model(m) for m in args.models]
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return run(args, device, sources)


def run(args: argparse.Namespace, device: torch.device, sources: list[protocols.EncoderSource]) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    if device.type == "cpu":  # before any variant runs, so the reference protocol gets the same allocator settings
        keep_freed_memory()
    names = args.variants or default_variants(device, args.end_to_end)
    if "reference" not in names:
        names = ["reference", *names]  # the speedup is over the reference protocol
    tokenizer = None
    if args.tokenizer:
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(args.tokenizer)
    settings = settings_for(device, args)
    n = args.entries or DEFAULTS[device.type]["entries"]
    report: dict[str, Any] = {
        "device": device.type,
        "timing": "end-to-end" if args.end_to_end else "pre-tokenized",
        "machine": protocols.machine_info(),
        "entries": n,
        "variants": names,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "command": " ".join(sys.argv),
        "load_before": os.getloadavg(),
        "models": [],
    }
    texts = protocols.read_texts(args.data or TEXTS, n) if args.end_to_end else None
    started = time.perf_counter()
    for source in sources:
        t0 = time.perf_counter()
        if args.end_to_end:

            def progress(what: str, seconds: float | None, name: str = source.name) -> None:
                print(f"  {name} {what}" + (f": {seconds:.3f} s" if seconds else ""), file=sys.stderr, flush=True)

            origin = f"{args.data or TEXTS} (texts, tokenized in the timing)"
            results = run_end_to_end(
                source,
                texts,
                tokenizer,
                names,
                settings,
                args.reps,
                args.reference_entries,
                args.profile_entries,
                progress,
            )
        else:
            entries, origin = load_entries(args, source, n, tokenizer)
            results = run_variants(source, entries, names, settings)
        with torch.device("meta"):
            params = sum(p.numel() for p in ModernBertModel(source.config).parameters())
        report["models"].append(
            {
                "model": source.name,
                "entries_from": origin,
                "num_params_encoder": params,
                "wall_s": round(time.perf_counter() - t0, 1),
                "results": results,
                "speedup": {k: v["speedup"] for k, v in results.items()},
            }
        )
        print(f"{source.name}: done in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        report["wall_s"], report["load_after"] = round(time.perf_counter() - started, 1), os.getloadavg()
        if args.json:  # after every model, so a run cut short keeps what it measured
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(report, indent=2))
    print(format_table(report))
    if args.json:
        print(f"written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
