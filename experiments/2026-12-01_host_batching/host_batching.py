"""Host-side batch building for inference, the way it was (a Python step per token or per row) against
`docketbert.core.batching.flat_ids` / `pad_rows` (numpy), in one process, on real entries cut into token-budget batches.

    # the GPU's batches
    python experiments/2026-12-01_host_batching/host_batching.py --tokenizer /tmp/tok --entries 100000 --budget 65536

Prints seconds for all batches, best of --reps, and the ratio; checks both give the same tensors.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from transformers import AutoTokenizer

from docketbert.bench.protocols import best_seconds, read_texts, report
from docketbert.core.batching import flat_ids, pad_rows, token_budget_batches


def flat_by_list(rows) -> torch.Tensor:
    """Before: torch.tensor of a list comprehension over every token (the unpadded layout's flat ids)."""
    return torch.tensor([t for r in rows for t in r], dtype=torch.long)


def pad_by_row(rows, pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Before: pad_rows filling the tensors row by row."""
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.as_tensor(row, dtype=torch.long)
        mask[i, : len(row)] = 1
    return ids, mask


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokenizer", required=True, help="a fast tokenizer directory")
    parser.add_argument("--input", default="../shared/data/docket_entries.jsonl.gz")
    parser.add_argument("--entries", type=int, default=100000, help="repeated from the start when the file is shorter")
    parser.add_argument("--budget", type=int, default=65536, help="tokens per batch (rows x longest); GPU: 65536")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    ids = AutoTokenizer.from_pretrained(args.tokenizer)(
        read_texts(args.input, args.entries), truncation=True, max_length=768
    )["input_ids"]
    batches = [[ids[i] for i in b] for b in token_budget_batches([len(r) for r in ids], args.budget)]
    for rows in batches:  # the same tensors both ways
        assert torch.equal(flat_by_list(rows), torch.from_numpy(flat_ids(rows)))
        assert all(torch.equal(a, b) for a, b in zip(pad_by_row(rows, 0), pad_rows(rows, 0)))
    variants = {
        "flat: list": flat_by_list,
        "flat: flat_ids": flat_ids,
        "pad: row by row": lambda rows: pad_by_row(rows, 0),
        "pad: pad_rows": lambda rows: pad_rows(rows, 0),
    }
    every_batch = {name: lambda fn=fn: [fn(rows) for rows in batches] for name, fn in variants.items()}
    best = best_seconds(every_batch, args.reps)
    return report(
        {
            "entries": len(ids),
            "batches": len(batches),
            "budget": args.budget,
            "seconds": {k: round(v, 4) for k, v in best.items()},
            "speedup": {
                "flat": round(best["flat: list"] / best["flat: flat_ids"], 2),
                "pad": round(best["pad: row by row"] / best["pad: pad_rows"], 2),
            },
        },
        args.json,
    )


if __name__ == "__main__":
    main()
