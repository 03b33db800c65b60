"""FlexAttention BlockMasks for packed rows: `create_block_mask` vs docketbert's block tables, in one process.

Both build the two masks of a packed ModernBERT batch (per-entry global, per-entry sliding window) for rows of real
entry lengths (lognormal fitted to the reference corpus, best-fit packed). Training builds them every step, on the
device, before the forward; `create_block_mask` evaluates the mask on all B x L x L (query, key) pairs. Prints each
builder's time per step (best of --reps, device synchronised), its operator count (torch.profiler events), and the
ratio; checks that both give the same tables first.

    python gpu_session/flex_block_masks.py --device cpu --rows 64 --width 512 --json /tmp/block_masks.json
    python gpu_session/flex_block_masks.py --device cuda --rows 64 --width 512       # on a GPU, synchronised per call
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from docketbert.bench.protocols import best_seconds, report, synthetic_lengths
from docketbert.core.device import synchronize
from docketbert.data.packing import best_fit_decreasing
from docketbert.model.packed_attention import block_masks, segment_ids_for_rows

TABLES = (
    "kv_num_blocks",
    "kv_indices",
    "full_kv_num_blocks",
    "full_kv_indices",
    "q_num_blocks",
    "q_indices",
    "full_q_num_blocks",
    "full_q_indices",
)


def packed_segments(rows: int, width: int, seed: int = 0) -> torch.Tensor:
    lengths = [int(n) for n in np.clip(synthetic_lengths(rows * width // 40, seed), 3, width)]
    packed = best_fit_decreasing(lengths, width)[:rows]
    return segment_ids_for_rows([[lengths[i] for i in row] for row in packed], width)


def operator_count(fn) -> int:
    from torch.profiler import profile

    with profile() as prof:
        fn()
    return sum(e.count for e in prof.key_averages())


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--rows", type=int, default=64, help="packed rows per batch (the GPU benchmark's 64)")
    parser.add_argument("--width", type=int, default=512, help="tokens per row (a multiple of 128)")
    parser.add_argument("--window", type=int, default=64, help="sliding window (ModernBERT's: 64)")
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda but no GPU is visible")
    device = torch.device(args.device)
    segments = packed_segments(args.rows, args.width).to(device)

    ours, theirs = block_masks(segments, args.window), block_masks(segments, args.window, tables=False)
    for name in ours:
        for table in TABLES:
            if not torch.equal(getattr(ours[name], table), getattr(theirs[name], table)):
                raise SystemExit(f"the builders disagree on {name} {table}")

    def timed(fn):
        def run():
            fn()
            synchronize(device)

        return run

    builders = {
        "create_block_mask": lambda: block_masks(segments, args.window, tables=False),
        "block_tables": lambda: block_masks(segments, args.window),
    }
    seconds = best_seconds({k: timed(v) for k, v in builders.items()}, args.reps)
    result = {
        "device": torch.cuda.get_device_name() if args.device == "cuda" else "cpu",
        "threads": torch.get_num_threads(),
        "rows": args.rows,
        "width": args.width,
        "window": args.window,
        "real_tokens": int((segments >= 0).sum()),
        "same_tables": True,
        "ms_per_step": {k: round(v * 1e3, 3) for k, v in seconds.items()},
        "operators": {k: operator_count(v) for k, v in builders.items()},
        "speedup": round(seconds["create_block_mask"] / seconds["block_tables"], 2),
    }
    return report(result, args.json)


if __name__ == "__main__":
    main()
