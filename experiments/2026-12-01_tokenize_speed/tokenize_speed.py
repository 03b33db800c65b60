"""Tokenization for embeddings: the transformers call (the path it replaced) against `Encoder.tokenize`, which
calls the Rust tokenizer's `encode_batch_fast` directly (no offsets). Same texts, same process, interleaved, best
of --reps; the ids are checked equal. The entries are the first --entries of --input (repeated when it holds fewer).

    python experiments/2026-12-01_tokenize_speed/tokenize_speed.py --tokenizer /tmp/tok --entries 100000
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from transformers import AutoTokenizer, ModernBertConfig, ModernBertModel

from docketbert.bench.protocols import best_seconds, read_texts, report
from docketbert.inference.encoder import Encoder


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokenizer", required=True, help="a fast tokenizer directory")
    parser.add_argument("--input", default="../shared/data/docket_entries.jsonl.gz")
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--max-length", type=int, default=8192)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    tokenizer = AutoTokenizer.from_pretrained(args.tokenizer)
    texts = read_texts(args.input, args.entries)
    config = ModernBertConfig(
        vocab_size=len(tokenizer),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=1,
        intermediate_size=16,
        max_position_embeddings=args.max_length,
        pad_token_id=tokenizer.pad_token_id or 0,
        cls_token_id=tokenizer.cls_token_id,
        sep_token_id=tokenizer.sep_token_id,
        bos_token_id=tokenizer.cls_token_id,
        eos_token_id=tokenizer.sep_token_id,
    )
    encoder = Encoder(ModernBertModel(config).eval(), tokenizer, torch.device("cpu"))  # the model is not run

    def transformers_call() -> list[list[int]]:
        return tokenizer(
            texts,
            add_special_tokens=True,
            truncation=True,
            max_length=encoder.max_length + 1,
            return_attention_mask=False,
            return_token_type_ids=False,
        )["input_ids"]

    def direct() -> list[list[int]]:
        return encoder.tokenize(texts).ids

    if encoder.tokenize(texts, offsets=True).ids != direct():  # the transformers call, truncated by the Encoder
        raise SystemExit("error: the two paths gave different ids")
    best = best_seconds({"transformers_call": transformers_call, "encode_batch_fast": direct}, args.reps)
    return report(
        {
            "entries": len(texts),
            "seconds": {k: round(v, 4) for k, v in best.items()},
            "speedup": round(best["transformers_call"] / best["encode_batch_fast"], 3),
        },
        args.json,
    )


if __name__ == "__main__":
    main()
