"""MLM training throughput: the reference's recipe vs HF on dense rows vs this project's packed path, in one run.

Variants (each: warm-up steps, then timed steps with the device synchronised; real tokens only):
- seed:   16 shuffled entries per step padded to the longest (multiple of 8), HF ModernBertForMaskedLM (sdpa,
          head and loss on every position), AdamW (not fused), bf16 autocast on GPU.
- dense:  HF on rows of --width tokens with no padding at all (entries run together, attention across them: the
          upper baseline the reference project's performance notes call "dense"), fused AdamW.
- packed: this project: entries best-fit packed into rows of --width (docketbert.data.packing), attention confined to
          each entry (flex_attention BlockMasks on GPU, dense per-entry masks with sdpa on CPU), torch.compile of
          the encoder (GPU), MLM head on masked positions only (docketbert.model.masked_lm.MaskedLMModel),
          fused AdamW, bf16.
- packed_sdpa: the same packed rows with dense per-entry masks through sdpa and no compilation (the fallback when
          flex_attention or torch.compile is unavailable).
- packed_boolean: packed, but the MLM head finds the masked positions by boolean indexing on the device (the host
          waits for their count every step) instead of the collator's list of them: the lever's A/B.
- packed_varlen: the same packed rows through the varlen path (docketbert.model.packed_attention.VARLEN: the rows
          read as one run of entries, torch's varlen Flash kernel on GPU, per-entry sdpa on CPU; no masks),
          compiled on GPU like packed.
A variant name may end in +compile or +eager to compile its encoder or not, whatever its default (seed+compile,
dense+compile, packed+eager, packed_varlen+eager ...).
Batches are built and moved to the device before timing (in training, packing runs in dataloader workers).

--train-py YAML measures the whole Composer loop beside that isolated step: docketbert's own trainer
(`build_trainer`, as `composer docketbert/train.py` runs it: data loader with its workers, packing, step, logging;
evaluation and the HF export off) on an MDS dir (--data) with a tokenizer (--tokenizer), real tokens/s between the
end of the warm-up steps and the end of the last step; then the isolated step of the same model, attention, compile
setting, rows and width, on entry lengths from the same data; and the ratio (train_py.ratio_to_isolated).
MFU = 6 x non-embedding parameters x real tokens / time / peak (peak: --peak-tflops, default the H100/H200 bf16 dense
spec, 989). Entry lengths: a lognormal fitted to the reference's corpus (mean
67.9, median 49, p99 319, max 768) or the entries of --data MDS_DIR.

    python -m docketbert.bench training --json /tmp/train.json                       # GPU: all shapes, < 10 min
    python -m docketbert.bench training --device cpu --tiny --json /tmp/train_cpu.json
    python -m docketbert.bench training --shapes base-150M --variants packed --profile 3 --json /tmp/profile.json
    python -m docketbert.bench training --variants none --train-py yamls/base150m.yaml --tokenizer TOK --data MDS \
        --override model.init=null --json /tmp/train_py.json
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import traceback
from pathlib import Path

import numpy as np
import torch
import transformers
from composer.core import Callback
from transformers import ModernBertConfig, ModernBertForMaskedLM

from docketbert.bench.profiling import profile_run
from docketbert.bench.protocols import synthetic_lengths
from docketbert.bench.variants import canonical_variant
from docketbert.core.device import resolve_device, synchronize
from docketbert.data.mlm import MLMCollator, mask_tokens
from docketbert.data.packing import PackedMLMCollator, best_fit_decreasing
from docketbert.model.masked_lm import MaskedLMModel
from docketbert.model.packed_attention import VARLEN
from docketbert.model.shapes import REFERENCE_SHAPES

# The reference's shapes (docketbert/model/shapes.py) that the throughput study covers.
SHAPES = {name: REFERENCE_SHAPES[name] for name in ("base-150M", "large-395M", "sliced-large-10l-175M", "scratch-7M")}
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
# Variant -> (batches, attention, compiled on GPU by default); "flex" stands for --attn (flex_attention on GPU).
VARIANTS = {
    "reference": ("reference", "sdpa", False),
    "dense": ("dense", "sdpa", False),
    "packed": ("packed", "flex", True),
    "packed_boolean": ("packed", "flex", True),
    "packed_sdpa": ("packed", "sdpa", False),
    "packed_varlen": ("packed", VARLEN, True),
}


def parse_variant(name: str) -> tuple[str, bool | None]:
    """'packed_varlen+eager' -> ('packed_varlen', False); no suffix -> (name, None): the variant's default."""
    base, _, suffix = name.partition("+")
    if base not in VARIANTS or suffix not in ("", "compile", "eager"):
        raise ValueError(f"unknown variant {name!r}: {', '.join(VARIANTS)}, optionally +compile or +eager")
    return base, {"": None, "compile": True, "eager": False}[suffix]


def entry_lengths(count: int, rng: np.random.Generator, data: str | None, max_len: int) -> np.ndarray:
    if data:
        from docketbert.data.mds import open_split

        split = open_split(data, "train")
        picks = rng.choice(split.size, size=min(count, split.size), replace=False)
        lengths = np.array([len(split[int(i)]["input_ids"]) for i in picks])
    else:  # the lognormal fitted to the reference's corpus, as the inference benchmark uses
        lengths = synthetic_lengths(count, seed=int(rng.integers(2**31)))
    return np.clip(lengths, 3, max_len)


def random_entry(n: int, vocab: int, rng: np.random.Generator) -> np.ndarray:
    ids = rng.integers(5, vocab, size=n)
    ids[0], ids[-1] = 1, 2
    return ids


def masked(input_ids: torch.Tensor, real: torch.Tensor, vocab: int) -> tuple[torch.Tensor, torch.Tensor]:
    maskable = real & (input_ids > 4)
    return mask_tokens(input_ids, maskable, 0.3, MASK_ID, vocab)


def reference_batches(lengths, steps, per_step, vocab, rng):
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
    optim = torch.optim.AdamW(
        hf.parameters(), lr=1e-4, fused=(device.type == "cuda" and not name.startswith("reference"))
    )
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
    # The reference recipe's padded batches give NaN gradients through HF's sdpa on a GPU (cuDNN attention in bf16,
    # where a padding query's sliding window holds only padding; gpu_session/sdpa_padding_check.py): its time is
    # still the recipe's.
    if not name.startswith("reference"):
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


class LoopClock(Callback):
    """Wall time and real tokens (Composer's timestamp, counted by the trainer's `count_real_tokens`) from the end
    of batch `warmup` to the end of batch `last` (checkpointing and the export after it left out), the device
    synchronised at both ends only."""

    def __init__(self, warmup: int, last: int, device: torch.device):
        self.warmup, self.last, self.device = warmup, last, device
        self.start: tuple[float, int, int] | None = None
        self.end: tuple[float, int, int] | None = None

    def batch_end(self, state, logger) -> None:
        batch = int(state.timestamp.batch)
        if batch in (self.warmup, self.last):
            synchronize(self.device)
            mark = (time.perf_counter(), int(state.timestamp.token), batch)
            if batch == self.warmup:
                self.start = mark
            if batch == self.last:
                self.end = mark


def train_py_figure(args, device: torch.device, bf16: bool, peak: float | None) -> dict:
    """`composer docketbert/train.py YAML` in this process (docketbert's build_trainer), timed by `LoopClock`, then
    the isolated step of the same model and batch shape; returns both and their ratio."""
    from composer.utils import dist

    from docketbert.config import load_config
    from docketbert.training.trainer import build_trainer

    warm, steps = args.train_py_warmup, args.train_py_steps
    run_root = Path(args.train_py_root)
    overrides = [
        f"tokenizer={args.tokenizer}",
        f"data.path={args.data}",
        f"run_root={run_root}",
        "run_name=train_py",
        f"max_duration={warm + steps}ba",
        "data.eval_split=null",
        f"eval_interval={10 * (warm + steps)}ba",
        f"save_interval={10 * (warm + steps)}ba",
        "export_hf=false",
        "autoresume=false",
        "loggers.progress_bar=false",
        f"loggers.console_log_interval={max(1, (warm + steps) // 10)}ba",
        "loggers.wandb.enabled=false",
        *args.override,
    ]
    cfg = load_config([args.train_py], overrides)
    trainer = build_trainer(cfg)
    clock = LoopClock(warm, warm + steps, device)
    trainer.state.callbacks.append(clock)  # the engine reads state.callbacks at every event
    started = time.perf_counter()
    trainer.fit()
    total_s = time.perf_counter() - started
    run_info = json.loads((cfg.run_dir / "run_info.json").read_text())
    hf = trainer.state.model.model
    config = hf.config
    rows = cfg.global_train_batch_size // dist.get_world_size()
    width = cfg.data.max_seq_len
    compiled = bool(run_info.get("compile"))
    attn = run_info.get("attn_implementation")
    packing = bool(run_info.get("packing"))
    trainer.close()
    if clock.start is None or clock.end is None:
        raise RuntimeError(f"the loop ended before batch {warm + steps}: too few batches in {args.data}?")
    (t0, tok0, b0), (t1, tok1, b1) = clock.start, clock.end
    loop = {
        "yaml": args.train_py,
        "overrides": overrides,
        "run_info": run_info,
        "steps": b1 - b0,
        "warmup_steps": warm,
        "real_tokens": tok1 - tok0,
        "seconds": t1 - t0,
        "tokens_per_s": (tok1 - tok0) / (t1 - t0),
        "fit_s": total_s,
    }
    print(
        f"train.py loop: {loop['tokens_per_s']:,.0f} real tok/s over {loop['steps']} steps ({attn}, compile {compiled})"
    )
    del trainer, hf
    if device.type == "cuda":
        torch.cuda.empty_cache()
    # the isolated step of the same model, attention, compile setting and batch shape
    fresh = type(config).from_dict(config.to_dict())
    fresh._attn_implementation = attn
    variant = "packed_varlen" if attn == VARLEN else "packed" if packing else "dense"
    rng = np.random.default_rng(0)
    n = int((args.steps_isolated + 2) * rows * width / 40) + 1000
    lengths = entry_lengths(n, rng, args.data, width)
    brng = np.random.default_rng(1)
    isolated_steps = args.steps_isolated
    vocab = fresh.vocab_size
    if packing:
        batches = list(packed_batches(lengths, isolated_steps + 2, rows, width, vocab, brng))
    else:
        batches = list(dense_batches(isolated_steps + 2, rows, width, vocab, brng))
    isolated = run_variant(variant, fresh, batches, device, bf16=bf16, compile_encoder=compiled, warmup=2)
    isolated["variant"], isolated["mfu"] = variant, (isolated["flops_per_s"] / (peak * 1e12) if peak else None)
    ratio = loop["tokens_per_s"] / isolated["tokens_per_s"]
    print(f"isolated step ({variant}): {isolated['tokens_per_s']:,.0f} real tok/s; train.py / isolated {ratio:.2f}")
    return {"loop": loop, "isolated": isolated, "ratio_to_isolated": ratio}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto", choices=["auto", "cuda", "cpu"])
    parser.add_argument("--tiny", action="store_true", help="one ~1M-parameter shape (a CPU check)")
    parser.add_argument("--shapes", default=None, help=f"comma list of {', '.join(SHAPES)} (default: all)")
    parser.add_argument(
        "--variants",
        default="reference,dense,packed",
        help=f"comma list of {', '.join(VARIANTS)}, each optionally +compile or +eager; 'none' for no variant",
    )
    parser.add_argument("--width", type=int, default=None, help="row width for dense/packed (GPU 512, CPU 256)")
    parser.add_argument("--rows", type=int, default=None, help="rows per step for dense/packed (GPU 64, CPU 4)")
    parser.add_argument("--reference-entries", type=int, default=16, help="entries per step of the reference recipe")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per variant (GPU 10, CPU 3)")
    parser.add_argument(
        "--reference-steps", type=int, default=None, help="timed steps of the reference variant (GPU 40)"
    )
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps first (GPU 3, CPU 1)")
    parser.add_argument("--no-compile", action="store_true", help="no variant compiled unless named +compile")
    parser.add_argument(
        "--compile-mode",
        default=None,
        help="torch.compile mode of the compiled variants (default: torch's; e.g. max-autotune-no-cudagraphs)",
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
    parser.add_argument("--train-py", default=None, metavar="YAML", help="also time the whole train.py loop")
    parser.add_argument("--tokenizer", default=None, help="--train-py: the tokenizer directory")
    parser.add_argument("--train-py-steps", type=int, default=30, help="--train-py: timed steps (default 30)")
    parser.add_argument("--train-py-warmup", type=int, default=5, help="--train-py: untimed first steps (default 5)")
    parser.add_argument("--train-py-root", default="/tmp/train_py_runs", help="--train-py: its run_root")
    parser.add_argument("--steps-isolated", type=int, default=10, help="--train-py: the isolated step's timed steps")
    parser.add_argument(
        "--override", action="append", default=[], metavar="KEY=VALUE", help="--train-py: a config override"
    )
    parser.add_argument("--json", default=None, help="write the numbers here")
    args = parser.parse_args(argv)

    try:
        device = resolve_device(args.device)
    except ValueError as err:
        parser.error(str(err))
    if args.train_py and not (args.data and args.tokenizer):
        parser.error("--train-py needs --data (an MDS dir) and --tokenizer")
    cuda = device.type == "cuda"
    width = args.width or (512 if cuda else 256)
    rows = args.rows or (64 if cuda else 4)
    steps, warmup = args.steps or (10 if cuda else 3), args.warmup or (3 if cuda else 1)
    reference_steps = args.reference_steps or (40 if cuda else steps)
    peak = args.peak_tflops or (989.0 if cuda else None)
    shapes = TINY if args.tiny else SHAPES
    if args.shapes:
        unknown = set(args.shapes.split(",")) - set(shapes)
        if unknown:
            parser.error(f"unknown shapes {sorted(unknown)}; choose from {sorted(shapes)}")
        shapes = {k: shapes[k] for k in args.shapes.split(",")}
    variants = [] if args.variants == "none" else [canonical_variant(v) for v in args.variants.split(",")]
    try:
        parsed = {v: parse_variant(v) for v in variants}
    except ValueError as err:
        parser.error(str(err))
    attn = args.attn or ("flex_attention" if cuda else "sdpa")
    compile_default = cuda and not args.no_compile

    rng = np.random.default_rng(0)
    n_entries = (
        max(reference_steps + warmup, 1) * args.reference_entries + int((steps + warmup) * rows * width / 40) + 1000
    )
    lengths = entry_lengths(n_entries, rng, args.data, width)
    reference_lengths, pack_lengths = lengths[: (reference_steps + warmup) * args.reference_entries], lengths
    report = {
        "device": torch.cuda.get_device_name()
        if cuda
        else f"CPU ({platform.processor() or 'cpu'}, {torch.get_num_threads()} threads)",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "width": width,
        "rows": rows,
        "steps": steps,
        "reference_steps": reference_steps,
        "warmup": warmup,
        "packed_attn": attn,
        "compile_default": compile_default,
        "compile_mode": args.compile_mode,
        "peak_tflops": peak,
        "lengths": args.data or "lognormal(median 49, mean 67.9), max 768",
        "mean_length": float(lengths.mean()),
        "results": {},
    }
    for shape, overrides in shapes.items() if variants else ():
        report["results"][shape] = {}
        for variant in variants:
            base, compile_named = parsed[variant]
            kind, variant_attn, compiled_by_default = VARIANTS[base]
            config = ModernBertConfig(**{"vocab_size": 50368, **SPECIAL, **overrides})
            config._attn_implementation = attn if variant_attn == "flex" else variant_attn
            compiled = compile_named if compile_named is not None else compiled_by_default and compile_default
            vocab = config.vocab_size
            brng = np.random.default_rng(1)
            if kind == "reference":
                batches = list(
                    reference_batches(reference_lengths, reference_steps + warmup, args.reference_entries, vocab, brng)
                )
            elif kind == "dense":
                batches = list(dense_batches(steps + warmup, rows, width, vocab, brng))
            else:
                batches = list(packed_batches(pack_lengths, steps + warmup, rows, width, vocab, brng))
                if base == "packed_boolean":
                    batches = [{k: v for k, v in b.items() if not k.startswith("mlm_")} for b in batches]
            try:
                result = run_variant(
                    base,
                    config,
                    batches,
                    device,
                    bf16=cuda,
                    compile_encoder=compiled,
                    warmup=warmup,
                    compile_mode=args.compile_mode,
                    profile=args.profile,
                )
                result["mfu"] = result["flops_per_s"] / (peak * 1e12) if peak else None
                result["attn"], result["compile"] = config._attn_implementation, compiled
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
            print(f"{shape:>24} {variant:>22}: {shown}", flush=True)
            if cuda:
                torch.cuda.empty_cache()
        res = report["results"][shape]
        fast_ones = [v for v in variants if v.startswith("packed")]
        for fast in fast_ones:
            for base in ("reference", "dense"):
                if "tokens_per_s" in res.get(fast, {}) and "tokens_per_s" in res.get(base, {}):
                    res[f"{fast}_vs_{base}"] = res[fast]["tokens_per_s"] / res[base]["tokens_per_s"]
        if "tokens_per_s" in res.get("packed_varlen", {}) and "tokens_per_s" in res.get("packed", {}):
            res["packed_varlen_vs_packed"] = res["packed_varlen"]["tokens_per_s"] / res["packed"]["tokens_per_s"]
        print(f"{shape:>24} ratios: " + ", ".join(f"{k} {v:.2f}x" for k, v in res.items() if "_vs_" in k))
        if args.json:  # after every shape, so a run cut short keeps what it measured
            Path(args.json).write_text(json.dumps(report, indent=2))
    if args.train_py:
        try:
            report["train_py"] = train_py_figure(args, device, bf16=cuda, peak=peak)
        except Exception as err:
            traceback.print_exc()
            report["train_py"] = {"error": f"{type(err).__name__}: {err}"}
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
        print(f"wrote {args.json}")
    return 0
