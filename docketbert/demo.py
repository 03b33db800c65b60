"""The whole pipeline on a built-in default, in a few minutes on a CPU:

corpus -> tokenizer -> MDS shards -> pretrain yamls/tiny.yaml -> HF export, then where to look.

    python -m docketbert.demo                              # a synthetic CourtListener-style corpus
    python -m docketbert.demo --corpus ../shared/data/docket_entries.jsonl.gz   # real entries (or your files)

Each step is skipped when its output already exists, so a re-run picks up where an interrupted one stopped.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def step(title: str) -> float:
    print(f"\n==> {title}", flush=True)
    return time.time()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--corpus",
        nargs="+",
        help="docket-entry files (CourtListener CSV, JSONL, text); default: generate a synthetic corpus",
    )
    parser.add_argument("--workdir", default="runs/demo", help="where the corpus, tokenizer and shards go")
    parser.add_argument("--run-root", default="runs", help="where the training run directory goes")
    parser.add_argument("--dockets", type=int, default=2000, help="synthetic dockets to generate (~20 entries each)")
    parser.add_argument("--vocab-size", type=int, default=8192, help="tokenizer vocabulary")
    parser.add_argument("overrides", nargs="*", help="key=value overrides for yamls/tiny.yaml (e.g. max_duration=50ba)")
    args = parser.parse_args(argv)
    workdir = Path(args.workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)

    from docketbert import train
    from docketbert.data.to_mds_job import main as to_mds
    from docketbert.data.tokenizer_training import iter_texts, train_tokenizer

    started = step("corpus")
    corpus = [Path(p).resolve() for p in args.corpus] if args.corpus else [workdir / "corpus.csv.gz"]
    if not args.corpus and not corpus[0].exists():
        from docketbert.data.synthetic import write_courtlistener_csv

        rows = write_courtlistener_csv(corpus[0], num_dockets=args.dockets, seed=0)
        print(f"generated {rows} synthetic docket entries in {corpus[0]}")
    print(f"corpus: {', '.join(map(str, corpus))} ({time.time() - started:.1f} s)")

    started = step("tokenizer")
    tokenizer_dir = workdir / "tokenizer"
    if not (tokenizer_dir / "tokenizer.json").exists():
        texts = (text for path in corpus for text in iter_texts(path))
        tokenizer = train_tokenizer(texts, vocab_size=args.vocab_size, output_dir=tokenizer_dir)
        print(f"trained a {len(tokenizer)}-token BPE tokenizer ({time.time() - started:.1f} s)")
    else:
        print(f"{tokenizer_dir} exists")

    step("MDS shards")
    mds_dir = workdir / "mds"
    rc = to_mds(
        [
            "--input",
            *map(str, corpus),
            "--output",
            str(mds_dir),
            "--tokenizer",
            str(tokenizer_dir),
            "--max-seq-len",
            "256",
            "--eval-fraction",
            "0.05",
        ]
    )
    if rc != 0:
        return rc

    step("pretraining yamls/tiny.yaml (Composer Trainer)")
    overrides = [f"tokenizer={tokenizer_dir}", f"data.path={mds_dir}", f"run_root={args.run_root}", *args.overrides]
    print("equivalent: composer docketbert/train.py yamls/tiny.yaml " + " ".join(overrides))
    rc = train.main([str(REPO / "yamls" / "tiny.yaml"), *overrides])
    if rc != 0:
        return rc
    run_dir = Path(args.run_root) / "tiny"
    print(
        f"\ndemo done.\n  shards + stats: {mds_dir} ({mds_dir / 'stats.json'})\n  run directory:  {run_dir}\n"
        f"  HF export:      {run_dir / 'hf'} (AutoModelForMaskedLM.from_pretrained)\n"
        f"  dashboards:     tensorboard --logdir {args.run_root}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
