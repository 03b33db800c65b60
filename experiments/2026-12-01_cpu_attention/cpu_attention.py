"""Attention settings of the unpadded CPU forward (docketbert.model.unpadded), compared in one process.

Each setting is a pair MAX_LEN:CHUNK: rows up to MAX_LEN tokens use matmul attention in chunks of rows holding at
most CHUNK scores (rows x heads x queries x keys; "inf": the whole batch at once); longer rows use sdpa. A suffix
"+compile" runs the same setting with `UnpaddedEncoder(compile=True)` (its first, untimed pass compiles). Every
setting runs the whole unpadded forward (CLS pooling) over the same pre-tokenized entries, in token-budget batches
as the Encoder cuts them, with random weights of a reference shape; the settings take turns within each repetition (so
a slow moment of the machine hits them alike), the best of --reps is kept, and each ratio is over the first.

    OMP_NUM_THREADS=2 python experiments/2026-12-01_cpu_attention/cpu_attention.py --shape scratch-7M base-150M \
        --modes bf16 int8 --tokenizer /tmp/tok --input ../shared/data/docket_entries.jsonl.gz --threads 2 \
        --json attention.json
    # eager against compiled, at the default attention setting
    OMP_NUM_THREADS=2 python experiments/2026-12-01_cpu_attention/cpu_attention.py --settings 256:2M 256:2M+compile \
        --tokenizer /tmp/tok
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from transformers import AutoTokenizer, ModernBertConfig, ModernBertModel

from docketbert.bench.protocols import read_texts
from docketbert.core.batching import token_budget_batches
from docketbert.core.cpu_memory import keep_freed_memory
from docketbert.inference.encoder import DEFAULT_BUDGET, apply_mode
from docketbert.model import unpadded
from docketbert.model.shapes import REFERENCE_SHAPES

DEFAULT_SETTINGS = ["128:inf", "256:2M", "512:1M"]  # the first: the old default (matmul up to 128 tokens, whole)


def parse_setting(text: str) -> tuple[int, int]:
    """ "256:2M" -> (256, 2 * 2**20); "inf" -> no chunking; a "+compile" suffix is ignored here. MAX_LEN applies to
    every dtype while timed."""
    try:
        max_len, chunk = text.removesuffix("+compile").split(":")
        scale = {"k": 1 << 10, "m": 1 << 20}.get(chunk[-1].lower(), 1)
        size = 1 << 62 if chunk == "inf" else int(chunk.rstrip("kKmM")) * scale
        return int(max_len), size
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected MAX_LEN:CHUNK, e.g. 256:2M or 128:inf") from None


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """The options the unpadded-forward benchmarks share (this one and the unpadded_revisions script it once served)."""
    parser.add_argument("--shape", nargs="+", default=["scratch-7M"], choices=sorted(REFERENCE_SHAPES))
    parser.add_argument("--modes", nargs="+", default=["bf16"], choices=["fp32", "bf16", "int8"])
    parser.add_argument("--tokenizer", required=True, help="a fast tokenizer directory")
    parser.add_argument("--input", default="../shared/data/docket_entries.jsonl.gz")
    parser.add_argument("--entries", type=int, default=200)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None)


def load_rows(args: argparse.Namespace) -> tuple[list[list[int]], int, int]:
    """Threads and memory set up as the Encoder does on the CPU; the first --entries entries tokenized. Returns the
    token-id rows, the vocabulary size for the random models (at least the reference shapes' 50,368) and the pad id."""
    if args.threads:
        torch.set_num_threads(args.threads)
    keep_freed_memory()
    tokenizer = AutoTokenizer.from_pretrained(args.tokenizer)
    rows = tokenizer(read_texts(args.input, args.entries), truncation=True, max_length=8192)["input_ids"]
    return rows, max(len(tokenizer), 50368), tokenizer.pad_token_id or 0


def random_model(shape: str, mode: str, vocab_size: int, pad_id: int) -> torch.nn.Module:
    """A reference shape's ModernBertModel with seeded random weights, in `mode`
    (docketbert.inference.encoder.apply_mode)."""
    config = ModernBertConfig(**REFERENCE_SHAPES[shape], vocab_size=vocab_size, pad_token_id=pad_id)
    torch.manual_seed(0)
    return apply_mode(ModernBertModel(config).eval(), mode, torch.device("cpu"))


def time_settings(
    shape: str, mode: str, rows: list[list[int]], settings: list[str], reps: int, vocab_size: int, pad_id: int
) -> dict:
    model = random_model(shape, mode, vocab_size, pad_id)
    encoders = {False: unpadded.UnpaddedEncoder(model), True: unpadded.UnpaddedEncoder(model, compile=True)}
    batches = token_budget_batches([len(r) for r in rows], DEFAULT_BUDGET["cpu"])
    saved = unpadded.MATMUL_ATTENTION_MAX_LEN, unpadded.SCORE_CHUNK
    best = {s: float("inf") for s in settings}
    outputs = {}
    try:
        for rep in range(reps + 1):  # repetition 0 warms up (and keeps the outputs for the check below)
            for setting in settings if rep % 2 else settings[::-1]:
                max_len, unpadded.SCORE_CHUNK = parse_setting(setting)
                unpadded.MATMUL_ATTENTION_MAX_LEN = {torch.float32: max_len, torch.bfloat16: max_len}
                start = time.perf_counter()
                with torch.inference_mode():
                    encoder = encoders[setting.endswith("+compile")]
                    out = [encoder([rows[i] for i in batch]) for batch in batches]
                if rep:
                    best[setting] = min(best[setting], time.perf_counter() - start)
                else:
                    outputs[setting] = torch.cat(out).float()
    finally:
        unpadded.MATMUL_ATTENTION_MAX_LEN, unpadded.SCORE_CHUNK = saved
    first = settings[0]
    return {
        s: {
            "seconds": round(best[s], 4),
            "speedup": round(best[first] / best[s], 3),
            "max_abs_diff_vs_first": float((outputs[s] - outputs[first]).abs().max()),
        }
        for s in settings
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(parser)
    parser.add_argument(
        "--settings",
        nargs="+",
        default=DEFAULT_SETTINGS,
        type=str,
        help="MAX_LEN:CHUNK pairs, each optionally +compile; the first is the baseline (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    for setting in args.settings:
        parse_setting(setting)
    rows, vocab_size, pad_id = load_rows(args)
    result = {
        "threads": torch.get_num_threads(),
        "entries": len(rows),
        "tokens": sum(map(len, rows)),
        "command": " ".join(sys.argv),
        "results": {},
    }
    for shape in args.shape:
        for mode in args.modes:
            row = time_settings(shape, mode, rows, args.settings, args.reps, vocab_size, pad_id)
            result["results"][f"{shape} {mode}"] = row
            print(
                f"{shape} {mode}: "
                + " | ".join(f"{s} {v['seconds'] * 1000:.0f} ms ({v['speedup']}x)" for s, v in row.items()),
                flush=True,
            )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
