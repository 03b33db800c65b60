"""MLM training throughput: the seed's recipe vs HF on dense rows vs this project's packed path, in one run.

Variants (each: warm-up steps, then timed steps with the device synchronised; real tokens only):
- seed:   16 shuffled entries per step padded to the longest (multiple of 8), HF ModernBertForMaskedLM (sdpa,
          head and loss on every position), AdamW (not fused), bf16 autocast on GPU.
- dense:  HF on rows of --width tokens with no padding at all (entries run together, attention across them: the
          "dense" upper baseline of performance.md), fused AdamW.
- packed: this project: entries best-fit packed into rows of --width (docketbert.data.packing), attention confined to
          each entry (flex_attention BlockMasks on GPU, dense per-entry masks with sdpa on CPU), torch.compile of
          the encoder (GPU), MLM head on masked positions only (docketbert.model.masked_lm.MaskedLMModel),
          fused AdamW, bf16.
- packed_sdpa: the same packed rows with dense per-entry masks through sdpa and no compilation (the fallback when
          flex_attention or torch.compile is unavailable).
- packed_boolean: packed, but the MLM head finds the masked positions by boolean indexing on the device (the host
          waits for their count every step) instead of the collator's list of them: the lever's A/B.
Batches are built and moved to the device before timing (in training, packing runs in dataloader workers).
MFU = 6 x non-embedding parameters x real tokens / time / peak (peak: --peak-tflops, default the H100/H200 bf16 dense
spec, 989). Entry lengths: a lognormal fitted to the seed's corpus (mean
67.9, median 49, p99 319, max 768) or the entries of --data MDS_DIR.

    python bench/train_throughput.py --json /tmp/train.json                       # GPU: all shapes, < 10 min
    python bench/train_throughput.py --device cpu --tiny --json /tmp/train_cpu.json
    python bench/train_throughput.py --shapes base-150M --variants packed --profile 3 --json /tmp/profile.json
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import traceback
from pathlib import Path

import numpy as np
import torch
import transformers
from transformers import ModernBertConfig, ModernBertForMaskedLM

from docketbert.bench.profiling import profile_run
from docketbert.bench.protocols import synthetic_lengths
from docketbert.core.device import resolve_device, synchronize
from docketbert.data.mlm import MLMCollator, mask_tokens
from docketbert.data.packing import PackedMLMCollator, best_fit_decreasing
from docketbert.model.masked_lm import MaskedLMModel
from docketbert.model.shapes import SEED_SHAPES

# The seed's shapes (docketbert/model/shapes.py) that the throughput study covers.
SHAPES = {name: SEED_SHAPES[name] for name in ("base-150M", "large-395M", "sliced-large-10l-175M", "scratch-7M")}
TINY = {
    "tiny-1M": dict(
        vocab_size=2048,
        hidden_size=64,
        num_hidden_layers=4,
        num_attention_heads=4,
        intermediate_size=128,
        global_attn_every_n_layers=2,
    )
}
SPECIAL = dict(pad_token_id=0, cls_token_id=1, sep_token_id=2, bos_token_id=1, eos_token_id=2)
MASK_ID = 3


def entry_lengths(count: int, rng: np.random.Generator, data: str | None, max_len: int) -> np.ndarray:
    if data:
        from docketbert.data.mds import open_split

        split = open_split(data, "train")
        picks = rng.choice(split.size, size=min(count, split.size), replace=False)
        lengths = np.array([len(split[int(i)]["input_ids"]) for i in picks])
    else:  # the lognormal fitted to the seed's corpus, as the inference benchmark uses
        lengths = synthetic_lengths(count, seed=int(rng.integers(2**31)))
    return np.clip(lengths, 3, max_len)


def random_entry(n: int, vocab: int, rng: np.random.Generator) -> np.ndarray:
    ids = rng.integers(5, vocab, size=n)
    ids[0], ids[-1] = 1, 2
    return ids


def masked(input_ids: torch.Tensor, real: torch.Tensor, vocab: int) -> tuple[torch.Tensor, torch.Tensor]:
    maskable = real & (input_ids > 4)
    return mask_tokens(input_ids, maskable, 0.3, MASK_ID, vocab)


def seed_batches(lengths, steps, per_step, vocab, rng):
    for s in range(steps):
        chosen = lengths[s * per_step : (s + 1) * per_step]
        width = int(-(-max(chosen) // 8) * 8)
        ids = torch.zeros((per_step, width), dtype=torch.long)
        attn = torch.zeros_like(ids)
        for r, n in enumerate(chosen):
            ids[r, :n] = torch.from_numpy(random_entry(int(n), vocab, rng))
            attn[r, :n] = 1
        inp, labels = masked(ids, attn.bool(), vocab)
        yield {"input_ids": inp, "attention_mask": attn, "labels": labels}


def dense_batches(steps, rows, width, vocab, rng):
    for _ in range(steps):
        ids = torch.from_numpy(rng.integers(5, vocab, size=(rows, width)))
        attn = torch.ones_like(ids)
        inp, labels = masked(ids, attn.bool(), vocab)
        yield {"input_ids": inp, "attention_mask": attn, "labels": labels}


def packed_batches(lengths, steps, rows, width, vocab, rng):
    collate = PackedMLMCollator(
        MLMCollator(
            pad_id=0, mask_id=MASK_ID, sep_id=2, special_ids=(0, 1, 2, 3, 4), vocab_size=vocab, max_seq_len=width
        ),
        width,
    )
    packed = [[lengths[i] for i in row] for row in best_fit_decreasing(list(lengths), width)]
    rng.shuffle(packed)
    if len(packed) < steps * rows:
        raise ValueError(f"{len(packed)} packed rows, fewer than {steps} steps x {rows} rows: sample more entries")
    for s in range(steps):
        chunk = packed[s * rows : (s + 1) * rows]
        yield collate([[random_entry(int(n), vocab, rng) for n in row] for row in chunk])


def run_variant(name, config, batches, device, bf16, compile_encoder, warmup, compile_mode=None, profile=0):
    torch.manual_seed(0)
    hf = ModernBertForMaskedLM(config).to(device).train()
    wrapped = MaskedLMModel(hf) if name.startswith("packed") else None
    if compile_encoder:
        hf.model.compile(mode=compile_mode)
    optim = torch.optim.AdamW(hf.parameters(), lr=1e-4, fused=(device.type == "cuda" and name != "seed"))
    non_embedding = sum(p.numel() for p in hf.parameters()) - hf.model.embeddings.tok_embeddings.weight.numel()
    batches = [{k: v.to(device, non_blocking=True) for k, v in b.items()} for b in batches]

    def step(batch):
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            if wrapped is not None:
                out = wrapped(batch)
                loss = wrapped.loss(out, batch)
            else:
                loss = hf(
                    input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"]
                ).loss
        loss.backward()
        optim.step()
        optim.zero_grad(set_to_none=True)
        return loss

    start = time.perf_counter()
    for batch in batches[:warmup]:
        step(batch)
    synchronize(device)
    warm_s = time.perf_counter() - start
    timed = batches[warmup:]
    tokens = sum(int(b["attention_mask"].sum()) for b in timed)
    capacity = sum(b["attention_mask"].numel() for b in timed)
    start = time.perf_counter()
    for batch in timed:
        loss = step(batch)
    synchronize(device)
    seconds = time.perf_counter() - start
    # The seed recipe's padded batches give NaN gradients through HF's sdpa on a GPU (cuDNN attention in bf16, where a
    # padding query's sliding window holds only padding; bench/sdpa_padding_check.py): its time is still the recipe's.
    if name != "seed":
        assert torch.isfinite(loss), f"{name}: loss {loss}"
    profiled = None
    if profile:  # the first timed steps again, under torch.profiler
        profiled = {"steps": len(timed[:profile]), **profile_run(lambda: [step(b) for b in timed[:profile]], device)}
    return {
        "profile": profiled,
        "steps": len(timed),
        "real_tokens": tokens,
        "seconds": seconds,
        "tokens_per_s": tokens / seconds,
        "pad_fraction": 1 - tokens / capacity,
        "warmup_s": warm_s,
        "non_embedding_params": non_embedding,
        "flops_per_s": 6 * non_embedding * tokens / seconds,
        "final_loss": float(loss.detach()),
        "loss_finite": bool(torch.isfinite(loss)),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto", choices=["auto", "cuda", "cpu"])
    parser.add_argument("--tiny", action="store_true", help="one ~1M-parameter shape (a CPU check)")
    parser.add_argument("--shapes", default=None, help=f"comma list of {', '.join(SHAPES)} (default: all)")
    parser.add_argument(
        "--variants", default="seed,dense,packed", help="comma list of seed, dense, packed, packed_sdpa, packed_boolean"
    )
    parser.add_argument("--width", type=int, default=None, help="row width for dense/packed (GPU 512, CPU 256)")
    parser.add_argument("--rows", type=int, default=None, help="rows per step for dense/packed (GPU 64, CPU 4)")
    parser.add_argument("--seed-entries", type=int, default=16, help="entries per step of the seed recipe")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per variant (GPU 10, CPU 3)")
    parser.add_argument("--seed-steps", type=int, default=None, help="timed steps of the seed variant (GPU 40)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps first (GPU 3, CPU 1)")
    parser.add_argument("--no-compile", action="store_true", help="packed variant without torch.compile")
    parser.add_argument(
        "--compile-mode",
        default=None,
        help="torch.compile mode of the packed variant (default: torch's; e.g. max-autotune-no-cudagraphs)",
    )
    parser.add_argument("--attn", default=None, help="packed attention (default: flex_attention on GPU, sdpa on CPU)")
    parser.add_argument("--data", default=None, help="an MDS dir (to_mds.py output): entry lengths from its train")
    parser.add_argument("--peak-tflops", type=float, default=None, help="peak bf16 dense TFLOP/s (GPU default 989)")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="STEPS",
        help="after timing, profile this many steps again (torch.profiler): top ops by device time "
        "and the device's busy fraction, in the JSON under each variant's 'profile'",
    )
    parser.add_argument("--json", default=None, help="write the numbers here")
    args = parser.parse_args(argv)

    try:
        device = resolve_device(args.device)
    except ValueError as err:
        parser.error(str(err))
    cuda = device.type == "cuda"
    width = args.width or (512 if cuda else 256)
    rows = args.rows or (64 if cuda else 4)
    steps, warmup = args.steps or (10 if cuda else 3), args.warmup or (3 if cuda else 1)
    seed_steps = args.seed_steps or (40 if cuda else steps)
    peak = args.peak_tflops or (989.0 if cuda else None)
    shapes = TINY if args.tiny else SHAPES
    if args.shapes:
        unknown = set(args.shapes.split(",")) - set(shapes)
        if unknown:
            parser.error(f"unknown shapes {sorted(unknown)}; choose from {sorted(shapes)}")
        shapes = {k: shapes[k] for k in args.shapes.split(",")}
    variants = args.variants.split(",")
    if set(variants) - {"seed", "dense", "packed", "packed_sdpa", "packed_boolean"}:
        parser.error("--variants are seed, dense, packed, packed_sdpa, packed_boolean")
    attn = args.attn or ("flex_attention" if cuda else "sdpa")
    compile_packed = cuda and not args.no_compile

    rng = np.random.default_rng(0)
    n_entries = max(seed_steps + warmup, 1) * args.seed_entries + int((steps + warmup) * rows * width / 40) + 1000
    lengths = entry_lengths(n_entries, rng, args.data, width)
    seed_lengths, pack_lengths = lengths[: (seed_steps + warmup) * args.seed_entries], lengths
    report = {
        "device": torch.cuda.get_device_name()
        if cuda
        else f"CPU ({platform.processor() or 'cpu'}, {torch.get_num_threads()} threads)",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "width": width,
        "rows": rows,
        "steps": steps,
        "seed_steps": seed_steps,
        "warmup": warmup,
        "packed_attn": attn,
        "packed_compile": compile_packed,
        "compile_mode": args.compile_mode,
        "peak_tflops": peak,
        "lengths": args.data or "lognormal(median 49, mean 67.9), max 768",
        "mean_length": float(lengths.mean()),
        "results": {},
    }
    for shape, overrides in shapes.items():
        report["results"][shape] = {}
        for variant in variants:
            config = ModernBertConfig(**{"vocab_size": 50368, **SPECIAL, **overrides})
            fast = variant in ("packed", "packed_boolean")  # flex_attention and compile (on GPU)
            config._attn_implementation = attn if fast else "sdpa"
            vocab = config.vocab_size
            brng = np.random.default_rng(1)
            if variant == "seed":
                batches = list(seed_batches(seed_lengths, seed_steps + warmup, args.seed_entries, vocab, brng))
            elif variant == "dense":
                batches = list(dense_batches(steps + warmup, rows, width, vocab, brng))
            else:
                batches = list(packed_batches(pack_lengths, steps + warmup, rows, width, vocab, brng))
                if variant == "packed_boolean":
                    batches = [{k: v for k, v in b.items() if not k.startswith("mlm_")} for b in batches]
            try:
                result = run_variant(
                    variant,
                    config,
                    batches,
                    device,
                    bf16=cuda,
                    compile_encoder=fast and compile_packed,
                    warmup=warmup,
                    compile_mode=args.compile_mode,
                    profile=args.profile,
                )
                result["mfu"] = result["flops_per_s"] / (peak * 1e12) if peak else None
            except Exception as err:  # one failing variant must not lose the others' numbers
                traceback.print_exc()
                result = {"error": f"{type(err).__name__}: {err}"}
            report["results"][shape][variant] = result
            shown = (
                (
                    f"{result['tokens_per_s']:>12,.0f} tok/s  pad {result['pad_fraction']:.2%}"
                    + (f"  MFU {result['mfu']:.1%}" if result.get("mfu") else "")
                )
                if "error" not in result
                else result["error"]
            )
            print(f"{shape:>24} {variant:>7}: {shown}", flush=True)
            if cuda:
                torch.cuda.empty_cache()
        res = report["results"][shape]
        for fast, base in (("packed", "seed"), ("packed", "dense"), ("packed_sdpa", "seed")):
            if "tokens_per_s" in res.get(fast, {}) and "tokens_per_s" in res.get(base, {}):
                res[f"{fast}_vs_{base}"] = res[fast]["tokens_per_s"] / res[base]["tokens_per_s"]
        print(f"{shape:>24} ratios: " + ", ".join(f"{k} {v:.2f}x" for k, v in res.items() if "_vs_" in k))
        if args.json:  # after every shape, so a run cut short keeps what it measured
            Path(args.json).write_text(json.dumps(report, indent=2))
    if args.json:
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
