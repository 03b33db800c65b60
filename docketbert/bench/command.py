"""Inference benchmark: every variant of docketbert/inference_bench.py on exported models or named seed shapes.

    python -m docketbert.bench base-150M scratch-7M sliced-large-10l-175M --device cuda --json bench.json
    python -m docketbert.bench runs/tiny/hf --data runs/demo/mds --device cpu

A MODEL is an exported model directory (config.json) or a seed shape with random weights (the names of
experiments.md; see --list). Entries come from --data (an MDS dataset's eval split) or are synthetic: lognormal
lengths fitted to the seed's corpus (mean 67.9, median 49, p99 ~320, max 768) of random non-special ids.

Defaults per device. cuda: 100,000 entries; the seed protocol at batch size 32 (the best of 32/256/1024 on an
H200, see performance.md; `--batch-sizes 8 16 ... 4096` gives the seed's full sweep), sorted at 512; every sweep
stops after --budget-s seconds (default 150) per variant and model, so three models run in one call well inside
10 minutes. cpu: the first 200 entries, batch 32.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import torch
from transformers import ModernBertConfig

from docketbert.bench import protocols as ib
from docketbert.core.cpu_memory import keep_freed_memory
from docketbert.model.shapes import SEED_SHAPES as SHAPES

DEFAULTS = {"cuda": {"entries": 100_000, "seed": [32], "sorted": [512], "budget_s": 150.0},
            "cpu": {"entries": 200, "seed": [32], "sorted": [32], "budget_s": None}}


def shape_name(name: str) -> str:
    """`sliced-large-ft-interleaved-10l-175M` -> `sliced-large-10l-175M` (which layers were kept does not change
    the shape)."""
    return re.sub(r"-(ft|first|interleaved)(?=-)", "", name.removeprefix("docketbert-"))


def resolve_model(spec: str) -> ib.EncoderSource:
    path = Path(spec)
    if (path / "config.json").exists():
        return ib.EncoderSource(config=ModernBertConfig.from_pretrained(path), path=str(path), name=str(path))
    if path.exists():
        raise SystemExit(f"error: {spec} is a path without a config.json (not an exported model)")
    name = shape_name(spec)
    if name not in SHAPES:
        raise SystemExit(f"error: {spec!r} is neither a model directory nor a known shape ({', '.join(SHAPES)})")
    return ib.EncoderSource(config=ModernBertConfig(**SHAPES[name]), name=spec)


def settings_for(device: torch.device, args: argparse.Namespace) -> dict[str, ib.Settings]:
    d = DEFAULTS[device.type]
    budget = args.budget_s if args.budget_s is not None else d["budget_s"]
    gpu_attn = "sdpa"
    if device.type == "cuda":
        from docketbert.model.build import resolve_attn_implementation

        gpu_attn = resolve_attn_implementation("auto", on_gpu=True)
    out = {name: ib.Settings(device, args.batch_sizes or d.get(name, d["seed"]), budget, gpu_attn)
           for name in ib.VARIANTS}
    out["default"] = ib.Settings(device, args.batch_sizes or d["seed"], budget, gpu_attn)
    return out


def load_entries(args: argparse.Namespace, source: ib.EncoderSource, n: int) -> tuple[list, str]:
    if args.data:
        return ib.mds_entries(args.data, args.split, n), f"{args.data}/{args.split}"
    return ib.synthetic_entries(n, source.config, seed=args.seed), "synthetic (lognormal fitted to the seed's corpus)"


def format_table(report: dict[str, Any]) -> str:
    lines = ["| model | variant | best batch | seconds | entries/s | speedup |", "|---|---|---:|---:|---:|---:|"]
    for model in report["models"]:
        for name, r in model["results"].items():
            secs = f"{r['seconds']:.3f}" if r.get("seconds") is not None else "–"
            eps = f"{r['entries_per_s']:.1f}" if r.get("entries_per_s") else "–"
            speed = f"{r['speedup']:.2f}x" if r.get("speedup") else "–"
            lines.append(f"| {model['model']} | {name} | {r.get('best_batch_size') or '–'} | {secs} | {eps} | {speed} |")
    return "\n".join(lines)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m docketbert.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="*", metavar="MODEL", help="exported model directory or seed shape name")
    p.add_argument("--shape", nargs="+", action="extend", default=[], metavar="NAME",
                   help="seed shapes with random weights (the same as naming them as MODEL; --list shows them)")
    p.add_argument("--device", choices=["cuda", "cpu"], default=None, help="default: cuda when available")
    p.add_argument("--json", type=Path, help="also write the results here")
    p.add_argument("--entries", type=int, help="entries to time (default: 100000 on cuda, 200 on cpu)")
    p.add_argument("--batch-sizes", type=int, nargs="+", help="batch sizes for every variant (default per device)")
    p.add_argument("--variants", nargs="+", default=list(ib.VARIANTS), help=f"of {', '.join(ib.VARIANTS)}")
    p.add_argument("--data", help="an MDS dataset (folder with the split) to take entries from")
    p.add_argument("--split", default="eval", help="the MDS split of --data (default eval)")
    p.add_argument("--budget-s", type=float, help="stop a batch-size sweep after this many seconds (default: 150 on "
                                                   "cuda, none on cpu)")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic entries")
    p.add_argument("--list", action="store_true", help="list the named shapes and exit")
    args = p.parse_args(argv)
    unknown = [name for name in args.shape if name not in SHAPES]
    if unknown:
        p.error(f"unknown --shape {', '.join(unknown)}; one of {', '.join(SHAPES)}")
    args.models = [*args.models, *args.shape]
    if not args.models and not args.list:
        p.error("give at least one MODEL (or --list)")
    if args.entries is not None and args.entries < 1:
        p.error("--entries must be positive")
    if args.batch_sizes and min(args.batch_sizes) < 1:
        p.error("--batch-sizes must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.list:
        print("\n".join(f"{n}: {c or 'ModernBertConfig() defaults'}" for n, c in SHAPES.items()))
        return 0
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("error: --device cuda but no GPU is available")
    if device.type == "cpu":  # before any variant runs, so the seed protocol gets the same allocator settings
        keep_freed_memory()
    if "seed" not in args.variants:
        args.variants = ["seed", *args.variants]  # the speedup is over the seed protocol
    sources = [resolve_model(m) for m in args.models]
    settings = settings_for(device, args)
    n = args.entries or DEFAULTS[device.type]["entries"]
    report: dict[str, Any] = {"device": device.type, "machine": ib.machine_info(), "entries": n,
                              "created": time.strftime("%Y-%m-%dT%H:%M:%S"), "models": []}
    started = time.perf_counter()
    for source in sources:
        entries, origin = load_entries(args, source, n)
        t0 = time.perf_counter()
        results = ib.run_variants(source, entries, args.variants, settings)
        with torch.device("meta"):
            params = sum(p.numel() for p in ib.ModernBertModel(source.config).parameters())
        report["models"].append({"model": source.name, "entries_from": origin, "num_params_encoder": params,
                                 "wall_s": round(time.perf_counter() - t0, 1), "results": results,
                                 "speedup": {k: v["speedup"] for k, v in results.items()}})
        print(f"{source.name}: done in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    report["wall_s"] = round(time.perf_counter() - started, 1)
    print(format_table(report))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))
        print(f"written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
