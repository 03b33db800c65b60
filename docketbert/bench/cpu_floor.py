"""What this CPU's matrix kernels reach, and the time floor that sets for an encoder shape's Linear layers.

For each mode (fp32, bf16 weights and activations, dynamic int8 as `inference.apply_mode` builds it) this times:
- `peak`: one large square matrix product (fp32/bf16 `torch.mm`; int8 `torch._int_mm`, int8 x int8 -> int32,
  where the build has it on the CPU), the best rate the kernels reach on this machine;
- `linears`: every Linear layer of the shape (attention Wqkv and Wo, MLP Wi and Wo, per layer) on token-budget
  batches of --budget rows, as the fast path runs them (int8: `torch.ao` dynamic quantized Linear, activation
  quantization included). Scaled to --tokens real tokens, that is the time the Linear layers alone need: the
  fast path can only approach it (attention, norms, activations, pooling and tokenization come on top).
Each timing is the best of --repeats. GOP/s count 2 x multiply-adds.

    OMP_NUM_THREADS=2 python -m docketbert.bench cpu_floor --shape base-150M scratch-7M --threads 2 --json f.json

--tokens defaults to 17,457: the first 200 entries of the shared corpus under the 4,096-token benchmark tokenizer
(BENCHMARKS.md, "Where is the CPU floor?").
"""

from __future__ import annotations

import argparse
import json
import platform
import warnings
from pathlib import Path

import torch
from transformers import ModernBertConfig

from docketbert.bench import protocols
from docketbert.model.shapes import REFERENCE_SHAPES

MODES = ("fp32", "bf16", "int8")


def best_seconds(fn, repeats: int) -> float:
    """The best of `repeats` calls after an untimed one (kernel selection, packing of weights, allocator)."""
    return protocols.best_seconds({"fn": fn}, repeats, warmup=True)["fn"]


def linear_shapes(shape: str) -> tuple[int, list[tuple[str, int, int]]]:
    """(layers, [(name, in_features, out_features)]) of one ModernBERT layer of a named reference shape."""
    cfg = ModernBertConfig(**REFERENCE_SHAPES[shape])
    d, i = cfg.hidden_size, cfg.intermediate_size
    return cfg.num_hidden_layers, [("attn.Wqkv", d, 3 * d), ("attn.Wo", d, d), ("mlp.Wi", d, 2 * i), ("mlp.Wo", i, d)]


def make_linear(mode: str, n_in: int, n_out: int) -> tuple[torch.nn.Module, torch.dtype]:
    layer = torch.nn.Linear(n_in, n_out, bias=False).eval()
    if mode == "bf16":
        return layer.to(torch.bfloat16), torch.bfloat16
    if mode == "int8":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.ao.quantization.quantize_dynamic(
                torch.nn.Sequential(layer), {torch.nn.Linear}, dtype=torch.qint8
            ), torch.float32
    return layer, torch.float32


def peak(mode: str, size: int, repeats: int) -> dict:
    if mode == "int8":
        a = torch.randint(-128, 127, (size, size), dtype=torch.int8)
        b = torch.randint(-128, 127, (size, size), dtype=torch.int8)
        try:
            seconds = best_seconds(lambda: torch._int_mm(a, b), repeats)
        except (RuntimeError, AttributeError) as err:
            return {"kernel": "torch._int_mm", "error": f"{type(err).__name__}: {err}"[:200]}
        kernel = "torch._int_mm"
    else:
        dtype = torch.bfloat16 if mode == "bf16" else torch.float32
        a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
        seconds = best_seconds(lambda: torch.mm(a, b), repeats)
        kernel = "torch.mm"
    return {"kernel": kernel, "size": size, "seconds": round(seconds, 5), "gops": round(2 * size**3 / seconds / 1e9, 1)}


def linears(shape: str, mode: str, tokens: int, budget: int, repeats: int) -> dict:
    layers, shapes = linear_shapes(shape)
    per_layer, ops = {}, 0
    for name, n_in, n_out in shapes:
        layer, dtype = make_linear(mode, n_in, n_out)
        x = torch.randn(budget, n_in, dtype=dtype)
        with torch.inference_mode():
            seconds = best_seconds(lambda layer=layer, x=x: layer(x), repeats)
        per_layer[name] = {
            "seconds_per_batch": round(seconds, 6),
            "gops": round(2 * budget * n_in * n_out / seconds / 1e9, 1),
        }
        ops += 2 * n_in * n_out
    batch_seconds = sum(v["seconds_per_batch"] for v in per_layer.values())
    floor = batch_seconds * layers * tokens / budget
    return {
        "layers": layers,
        "per_layer": per_layer,
        "linear_gop": round(ops * layers * tokens / 1e9, 1),
        "seconds_for_tokens": round(floor, 4),
        "gops": round(ops * layers * tokens / floor / 1e9, 1),
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", nargs="+", default=["base-150M", "scratch-7M"], choices=sorted(REFERENCE_SHAPES))
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    parser.add_argument("--tokens", type=int, default=17457, help="real tokens to scale the Linear time to")
    parser.add_argument("--budget", type=int, default=2048, help="rows per batch (the CPU fast path's token budget)")
    parser.add_argument("--peak-size", type=int, default=2048, help="side of the square product for `peak`")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    result = {
        "machine": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "tokens": args.tokens,
        "budget": args.budget,
        "peak": {},
        "linears": {},
    }
    for mode in args.modes:
        result["peak"][mode] = peak(mode, args.peak_size, args.repeats)
        print(f"peak {mode:5s} {result['peak'][mode]}", flush=True)
    for shape in args.shape:
        result["linears"][shape] = {}
        for mode in args.modes:
            row = linears(shape, mode, args.tokens, args.budget, args.repeats)
            result["linears"][shape][mode] = row
            print(
                f"{shape:24s} {mode:5s} linears {row['linear_gop']:8.1f} GOP -> {row['seconds_for_tokens']:.3f} s "
                f"({row['gops']} GOP/s)",
                flush=True,
            )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return result
