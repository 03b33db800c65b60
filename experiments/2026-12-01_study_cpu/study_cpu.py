"""The reference's study at CPU scale on the real corpus: the same training budget for a small model made four ways.

    python experiments/2026-12-01_study_cpu/study_cpu.py [--out /tmp/study_cpu] [--budget 60] [--source-batches 150]

1. A deeper "source" model (8 layers) is pretrained briefly (stands in for docketbert-large-395M).
2. With the same budget (batches of the same size, same lr schedule), 4-layer models: from scratch; a slice of
   the source (first 4 layers, interleaved 0,2,4,6; each with the head copied or re-initialised, attention kinds
   kept); and a scratch 4-layer student distilled from the source (alpha 0.5/0.5, T 2, masked positions).
Prints a Markdown table of eval losses (the same fixed-mask eval batches for every run). Data, tokenizer and runs
go under --out (a 2048-token BPE tokenizer trained on the corpus, MDS with max length 128).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("DOCKETBERT_SHARED_DATA", REPO.parent / "shared" / "data")) / "docket_entries.jsonl.gz"
SHAPE = {
    "model.config.hidden_size": 64,
    "model.config.num_attention_heads": 4,
    "model.config.intermediate_size": 128,
    "model.config.max_position_embeddings": 512,
    "model.config.global_attn_every_n_layers": 3,
}


def prepare(out: Path) -> tuple[Path, Path]:
    from docketbert.data.to_mds_job import main as to_mds
    from docketbert.data.tokenizer_training import iter_texts, train_tokenizer

    tok, mds = out / "tokenizer", out / "mds"
    if not (tok / "tokenizer.json").exists():
        train_tokenizer(iter_texts(CORPUS), vocab_size=2048, output_dir=tok)
    if not (mds / "eval" / "index.json").exists():
        assert (
            to_mds(
                [
                    "--input",
                    str(CORPUS),
                    "--output",
                    str(mds),
                    "--tokenizer",
                    str(tok),
                    "--docket-key",
                    "case",
                    "--eval-fraction",
                    "0.1",
                    "--max-seq-len",
                    "128",
                    "--workers",
                    "1",
                    "--no-progress",
                ]
            )
            == 0
        )
    return tok, mds


def train(name: str, out: Path, tok: Path, mds: Path, batches: int, **extra) -> dict:
    from docketbert.config import load_config
    from docketbert.training.trainer import build_trainer

    run_dir = out / "runs" / name
    if not (run_dir / "metrics.json").exists():
        values = {
            "run_root": out / "runs",
            "tokenizer": tok,
            "data.path": mds,
            "data.max_seq_len": 128,
            "data.eval_subset_num_batches": 8,
            "device_eval_batch_size": 64,
            "global_train_batch_size": 16,
            "device_train_microbatch_size": 16,
            "optimizer.lr": 2e-3,
            "max_duration": f"{batches}ba",
            "eval_interval": f"{batches}ba",
            "save_interval": f"{batches}ba",
            "device": "cpu",
            "loggers.progress_bar": False,
            "loggers.tensorboard": False,
            "scheduler.warmup": "0.05dur",
            "loggers.console_log_interval": "25ba",
            **SHAPE,
            **extra,
        }
        if "model.init" in values:  # model.config would override the loaded source's config
            values = {k: v for k, v in values.items() if not k.startswith("model.config.")}
        named = out / f"{name}.yaml"
        named.write_text(f"run_name: {name}\n")
        cfg = load_config([REPO / "yamls" / "_reference.yaml", named], [f"{k}={v}" for k, v in values.items()])
        start = time.time()
        trainer = build_trainer(cfg)
        trainer.fit()
        trainer.close()
        info = json.loads((run_dir / "run_info.json").read_text())
        (run_dir / "bench.json").write_text(
            json.dumps({"seconds": time.time() - start, "num_params": info["num_params"]})
        )
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return {**metrics, **json.loads((run_dir / "bench.json").read_text())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("/tmp/study_cpu"))
    parser.add_argument("--budget", type=int, default=60, help="training batches (of 16) per compared model")
    parser.add_argument("--source-batches", type=int, default=150, help="batches of the source's brief pretraining")
    args = parser.parse_args(argv)
    if not CORPUS.exists():
        parser.error(f"the corpus is not at {CORPUS} (set DOCKETBERT_SHARED_DATA)")
    tok, mds = prepare(args.out)
    source = train("source-8l", args.out, tok, mds, args.source_batches, **{"model.config.num_hidden_layers": 8})
    src_dir = args.out / "runs" / "source-8l" / "hf"
    n = args.budget
    rows = {
        "scratch 4l": train("scratch-4l", args.out, tok, mds, n, **{"model.config.num_hidden_layers": 4}),
        "slice first 4l, head copied": train(
            "slice-first",
            args.out,
            tok,
            mds,
            n,
            **{
                "model.init": src_dir,
                "algorithms.layer_slicing.mode": "first",
                "algorithms.layer_slicing.num_layers": 4,
            },
        ),
        "slice interleaved 4l (0,2,4,6), head copied": train(
            "slice-inter",
            args.out,
            tok,
            mds,
            n,
            **{"model.init": src_dir, "algorithms.layer_slicing.layers": "[0,2,4,6]"},
        ),
        "slice first 4l, head re-initialised": train(
            "slice-first-nohead",
            args.out,
            tok,
            mds,
            n,
            **{
                "model.init": src_dir,
                "algorithms.layer_slicing.mode": "first",
                "algorithms.layer_slicing.num_layers": 4,
                "algorithms.layer_slicing.copy_head": False,
            },
        ),
        "slice interleaved 4l, head re-initialised": train(
            "slice-inter-nohead",
            args.out,
            tok,
            mds,
            n,
            **{
                "model.init": src_dir,
                "algorithms.layer_slicing.layers": "[0,2,4,6]",
                "algorithms.layer_slicing.copy_head": False,
            },
        ),
        "scratch 4l distilled from the source (0.5/0.5, T 2, masked)": train(
            "distill-4l",
            args.out,
            tok,
            mds,
            n,
            **{"model.config.num_hidden_layers": 4, "callbacks.distillation.teacher": src_dir},
        ),
    }
    print(
        f"\nmachine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch threads "
        f"{__import__('torch').get_num_threads()}"
    )
    print(
        f"source: 8 layers, {source['num_params']} params, {args.source_batches} batches of 16, "
        f"eval_loss {source['eval_loss']:.4f}\n"
    )
    print(f"| model ({n} batches of 16) | params | eval_loss | train seconds |\n|---|---:|---:|---:|")
    for label, m in rows.items():
        print(f"| {label} | {m['num_params']:,} | {m['eval_loss']:.4f} | {m['seconds']:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
