"""What suits the OpenVINO modes on this CPU, against the torch int8 path: the token budget of a batch (rows x
longest row), and the rotary embedding fused into the CPU plugin's RoPE kernel against the unfused form it replaced.

A variant is MODE:BUDGET[:ROTARY]: `int8:2048` (the torch int8 path, unpadded layout, its default budget),
`openvino_int8:512:fused` (the OpenVINO defaults for base-150M) or `openvino_int8:2048:unfused` (the form before:
rank-2 cos and sin tables and `-x2` in rotate_half, which the plugin runs as reference split, negate and concat
kernels). Each OpenVINO graph's count of fused RoPE kernels is recorded. One Encoder per shape, mode and rotary form
(an OpenVINO graph converted, and for int8 calibrated, once), then `embed` of the same texts end to end with each
variant in turn, interleaved rep by rep so a drift of the machine hits every variant alike (on a shared machine the
same pass can take twice as long minutes later). The first variant is the baseline: each variant's ratio is the
baseline's median seconds over its own (> 1: faster).

    OMP_NUM_THREADS=2 uv run python experiments/2026-12-02_openvino_tuning/openvino_tuning.py \
        --shape base-150M scratch-7M \
        --tokenizer TOK --variants int8:2048 openvino_int8:2048:unfused openvino_int8:2048:fused \
        openvino_int8:512:fused \
        --reps 7 --threads 2 --json /tmp/ov_tuning.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch
from transformers import AutoTokenizer, ModernBertConfig, ModernBertModel

from docketbert.bench.protocols import read_texts
from docketbert.inference import openvino_runtime
from docketbert.inference.encoder import Encoder, apply_mode
from docketbert.model.shapes import REFERENCE_SHAPES

TEXTS = "../shared/data/docket_entries.jsonl.gz"
ROTARY = ("fused", "unfused")


def unfused_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """The baseline, the form before: rank-2 (L, head_dim) cos and sin tables and `-x2` in rotate_half, which
    OpenVINO's RoPE fusion does not match (its pattern wants rank-4 tables and a Multiply by -1.0)."""
    half = x.shape[-1] // 2
    cos, sin = cos[0, 0], sin[0, 0]
    return x * cos + torch.cat((-x[..., half:], x[..., :half]), dim=-1) * sin


MODES = ("int8", "openvino", "openvino_int8")


def variant(text: str) -> tuple[str, int, str]:
    mode, budget, rotary = (text.split(":") + ["", "", ""])[:3]
    rotary = rotary or ("fused" if mode != "int8" else "")
    if mode not in MODES or not budget.isdigit() or int(budget) < 1 or (mode != "int8" and rotary not in ROTARY):
        raise argparse.ArgumentTypeError(
            f"{text!r}: MODE:BUDGET[:ROTARY], MODE one of {', '.join(MODES)}, a positive budget, ROTARY one of "
            f"{', '.join(ROTARY)}"
        )
    return mode, int(budget), rotary


def rope_kernels(enc: Encoder) -> int | None:
    """Fused RoPE kernels in the compiled "cls" graph of an OpenVINO Encoder (None for the torch path)."""
    if enc.openvino is None:
        return None
    return openvino_runtime.kernel_count(enc.openvino.request("cls").get_compiled_model(), "RoPE")


def encoder(shape: str, mode: str, rotary: str, tokenizer, cache: str) -> Encoder:
    config = ModernBertConfig(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id, **REFERENCE_SHAPES[shape])
    torch.manual_seed(0)
    cpu = torch.device("cpu")
    model = apply_mode(ModernBertModel(config).eval(), mode, cpu)
    enc = Encoder(model, tokenizer, cpu, mode=mode, max_length=768, runtime_cache=cache)
    fused = openvino_runtime._rotary
    openvino_runtime._rotary = fused if rotary == "fused" else unfused_rotary
    try:
        enc.embed(["warm-up: the graph is converted and compiled here"])
    finally:
        openvino_runtime._rotary = fused
    return enc


def measure(shape: str, tokenizer, texts: list[str], variants: list, reps: int, cache: str) -> dict:
    forms = dict.fromkeys((m, r) for m, _, r in variants)
    encs = {(m, r): encoder(shape, m, r, tokenizer, f"{cache}/{shape}-{m}-{r}") for m, r in forms}
    for mode, budget, rotary in variants:  # warm-up: every batch shape of every variant seen once
        encs[(mode, rotary)].token_budget = budget
        encs[(mode, rotary)].embed(texts)
    seconds: dict[tuple[str, int, str], list[float]] = {v: [] for v in variants}
    for _ in range(reps):
        for mode, budget, rotary in variants:
            enc = encs[(mode, rotary)]
            enc.token_budget = budget
            start = time.perf_counter()
            enc.embed(texts)
            seconds[(mode, budget, rotary)].append(time.perf_counter() - start)
    base = statistics.median(seconds[variants[0]])
    return {
        ":".join(str(x) for x in v if x): {
            "best_s": round(min(s), 4),
            "median_s": round(statistics.median(s), 4),
            "ratio_vs_first": round(base / statistics.median(s), 3),
            "rope_kernels": rope_kernels(encs[(v[0], v[2])]),
        }
        for v, s in seconds.items()
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", nargs="+", default=["base-150M", "scratch-7M"], choices=list(REFERENCE_SHAPES))
    parser.add_argument("--tokenizer", required=True, help="a fast tokenizer directory")
    parser.add_argument("--data", default=TEXTS, help=f"texts to embed (default {TEXTS})")
    parser.add_argument("--entries", type=int, default=200)
    parser.add_argument(
        "--variants",
        type=variant,
        nargs="+",
        default=[("int8", 2048, ""), ("openvino_int8", 2048, "unfused"), ("openvino_int8", 2048, "fused")]
        + [("openvino_int8", 512, "fused")],
        help="MODE:BUDGET[:ROTARY] (int8, openvino, openvino_int8; fused or unfused); the first is the baseline",
    )
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    tokenizer = AutoTokenizer.from_pretrained(args.tokenizer)
    texts = read_texts(args.data, args.entries)
    first = ":".join(str(x) for x in args.variants[0] if x)
    results: dict = {"entries": len(texts), "threads": torch.get_num_threads(), "reps": args.reps}
    with tempfile.TemporaryDirectory(prefix="docketbert-ov-tuning-") as cache:
        for shape in args.shape:
            results[shape] = row = measure(shape, tokenizer, texts, args.variants, args.reps, cache)
            for name, r in row.items():
                print(
                    f"{shape:24s} {name:>28s}: median {r['median_s']:8.3f} s  best {r['best_s']:8.3f} s  "
                    f"{r['ratio_vs_first']:.2f}x vs {first}  RoPE kernels {r['rope_kernels']}",
                    flush=True,
                )
            if args.json:
                args.json.write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
