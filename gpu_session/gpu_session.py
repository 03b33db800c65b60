"""The varlen GPU session in one process writing one JSON: equality first, then the timings.

Stages, in order (each in a time box, the session under one deadline; a stage that does not fit is recorded as
skipped, one that fails as its error, and the JSON is rewritten after every stage):
  equality        before anything is timed: torch's varlen kernel against the per-entry sdpa reference
                  (docketbert.model.varlen_attention; bf16 inputs, global and windowed, forward and gradients), the
                  unpadded forward with varlen attention (bf16, kernel) against the same forward on the reference
                  (fp32) and against transformers' padded forward (fp32, sdpa), and a packed training step through
                  the varlen path against dense per-entry masks (loss, gradients), for base-150M's shape
  train_packed    `bench training`, base-150M: flex packed and varlen packed, each compiled and eager,
                  each then profiled for 3 steps (top kernels; the device's busy fraction, 1 - busy being the host's
                  gaps); the fastest one's profile is also under its `best`
  train_e2e       `bench training --train-py`: `composer docketbert/train.py` (build_trainer) end to end
                  on the synthetic shards, ~200 steps, loader workers on auto, beside the isolated step, the ratio
  loader          `bench loader` on the same shards: the training loader's real tokens/s with 0, 1, 2
                  and auto workers, each started by a plain fork and by the fork server, on this machine's CPUs,
                  against the 292k-400k the step consumes
  infer_base      python -m docketbert.bench --end-to-end, base-150M, 100k entries (tokenization included): seed
                  protocol (timed on --reference-entries and scaled), bf16 padded, bf16 unpadded (varlen on CUDA) eager
                  and compiled, each fast variant profiled (top ops, busy fraction)
  infer_others    the same as infer_base for scratch-7M and sliced-large-10l-175M
  train_baselines `bench training`, base-150M: the reference recipe and HF dense rows, each compiled and eager
  infer_db        `bench infer`: infer from PostgreSQL into a table against the front door, base-150M
                  bf16 (tiny: scratch-7M int8 on the CPU), the ratio; needs the PostgreSQL server binaries
  bench_variants  python -m docketbert.bench, scratch-7M: every variant the device runs (--list), pre-tokenized and
                  --end-to-end, each one a time and no error (the CPU ones are tests/bench/test_bench_variants.py)
--tiny: every stage on this machine's CPU at tiny shapes and few steps (a dry run of the script). What needs a GPU
(the kernel, flex_attention, cuda-only variants) is recorded as skipped with the reason; the reference paths run.

    python gpu_session/gpu_session.py --out OUT/session.json --inputs .gpu            # on the GPU machine, < 9 min
    uv run python gpu_session/gpu_session.py --tiny --out /tmp/session.json --inputs DIR   # DIR: data/ tok/ mds/
Inputs (--inputs, as gpu_session/prepare_inputs.sh builds them): data/docket_entries.jsonl.gz, tok/, mds/, and
synth_mds/ (synthetic shards for train_e2e and loader; mds/ where it is missing).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import platform
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

import torch

STAGES = (
    "equality",
    "train_packed",
    "train_e2e",
    "loader",
    "infer_base",
    "infer_others",
    "train_baselines",
    "bench_variants",
    "infer_db",
)
# Each stage's time box in seconds on the GPU (and on the CPU with --tiny).
BOXES = {
    "equality": (60, 240),
    "train_packed": (170, 600),
    "train_e2e": (150, 400),
    "loader": (45, 200),
    "infer_base": (150, 400),
    "infer_others": (90, 400),
    "train_baselines": (120, 400),
    "bench_variants": (120, 400),
    "infer_db": (120, 400),
}
MIN_BOX = 20


class StageTimeout(Exception):
    pass


@contextlib.contextmanager
def time_box(seconds: float):
    """Raise StageTimeout in this (main) thread after `seconds`."""

    def expire(signum, frame):
        raise StageTimeout(f"over its box of {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def close(a: torch.Tensor, b: torch.Tensor) -> dict:
    """Max abs difference, max relative (to b's largest magnitude), min cosine over rows."""
    a, b = (x.float().flatten(1) if x.dim() > 1 else x.float()[None] for x in (a, b))
    return {
        "max_abs": float((a - b).abs().max()),
        "max_rel": float((a - b).abs().max() / b.abs().max().clamp(min=1e-12)),
        "min_cos": float(torch.nn.functional.cosine_similarity(a, b, dim=-1).min()),
    }


def equality(ctx) -> dict:
    """The kernel vs the reference vs transformers, before any timing."""
    from transformers import ModernBertConfig, ModernBertForMaskedLM, ModernBertModel

    from docketbert.model.masked_lm import MaskedLMModel
    from docketbert.model.packed_attention import VARLEN, segment_ids_for_rows, varlen_cu_seqlens
    from docketbert.model.shapes import REFERENCE_SHAPES
    from docketbert.model.unpadded import UnpaddedEncoder
    from docketbert.model.varlen_attention import cu_seqlens_from_lengths, reference_varlen_attention, uses_kernel

    device, tiny = ctx.device, ctx.tiny
    out: dict = {"tolerance": {"min_cos": 0.999, "op_max_rel": 0.02}}
    gen = torch.Generator().manual_seed(0)
    lengths = torch.randint(3, 300, (64 if not tiny else 8,), generator=gen)
    lengths[:3] = torch.tensor([1, 64, 65])  # one token; the window's edge on each side
    heads, head_dim = (12, 64) if not tiny else (2, 16)
    cu = cu_seqlens_from_lengths(lengths).to(device)
    total = int(lengths.sum())
    max_len = int(lengths.max())

    # 1. the op: kernel (bf16) vs reference (fp32 on the same bf16 inputs), forward and gradients
    ops = {}
    for window in (None, 64):
        q, k, v = (torch.randn(total, heads, head_dim, generator=gen).to(device, torch.bfloat16) for _ in range(3))
        grad = torch.randn(total, heads, head_dim, generator=gen).to(device, torch.bfloat16)
        ref_in = [x.float().requires_grad_() for x in (q, k, v)]
        ref = reference_varlen_attention(*ref_in, cu, window=window)
        ref.backward(grad.float())
        name = "global" if window is None else f"window_{window}"
        if not uses_kernel(q):
            ops[name] = {"status": "skipped", "reason": "no CUDA device with torch's varlen kernel"}
            continue
        from torch.nn.attention.varlen import varlen_attn

        kin = [x.clone().requires_grad_() for x in (q, k, v)]
        window_size = (-1, -1) if window is None else (window, window)
        got = varlen_attn(*kin, cu, cu, max_len, max_len, window_size=window_size)
        got.backward(grad)
        ops[name] = {
            "forward": close(got, ref),
            **{f"grad_{n}": close(a.grad, b.grad) for n, a, b in zip("qkv", kin, ref_in)},
        }
    out["op"] = ops

    # 2. inference: unpadded + varlen (kernel, bf16) vs the same forward on the reference (fp32) vs HF padded (fp32)
    shape = (
        REFERENCE_SHAPES["base-150M"]
        if not tiny
        else {"hidden_size": 64, "num_hidden_layers": 4, "num_attention_heads": 4, "intermediate_size": 128}
    )
    special = dict(pad_token_id=0, cls_token_id=1, sep_token_id=2, bos_token_id=1, eos_token_id=2)
    config = ModernBertConfig(**{"vocab_size": 4096, **special, **shape}, attn_implementation="sdpa")
    torch.manual_seed(0)
    hf = ModernBertModel(config).eval().to(device)
    rows = [[1] + torch.randint(5, 4096, (int(n),), generator=gen).tolist() + [2] for n in lengths[:32]]
    width = max(map(len, rows))
    ids = torch.zeros((len(rows), width), dtype=torch.long)
    mask = torch.zeros_like(ids)
    for r, row in enumerate(rows):
        ids[r, : len(row)], mask[r, : len(row)] = torch.tensor(row), 1
    ids, mask = ids.to(device), mask.to(device)
    with torch.no_grad():
        padded = hf(input_ids=ids, attention_mask=mask)[0]
    hf_cls = padded[:, 0]
    hf_mean = (padded * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
    reference = UnpaddedEncoder(hf, attention="varlen")  # fp32: the per-entry sdpa reference everywhere
    inference = {
        "reference_vs_hf": {
            "cls": close(reference(rows, "cls"), hf_cls),
            "mean": close(reference(rows, "mean"), hf_mean),
        }
    }
    bf16 = UnpaddedEncoder(copy.deepcopy(hf).to(torch.bfloat16), attention="auto")
    if bf16.uses_varlen():
        inference["kernel_vs_reference"] = {
            p: close(bf16(rows, p), reference(rows, p)) for p in ("cls", "mean", "none")
        }
        inference["kernel_vs_hf"] = {
            "cls": close(bf16(rows, "cls"), hf_cls),
            "mean": close(bf16(rows, "mean"), hf_mean),
        }
    else:
        inference["kernel_vs_reference"] = {"status": "skipped", "reason": "no CUDA: unpadded auto runs padded"}
    out["inference"] = inference

    # 3. training: one packed step through the varlen path vs dense per-entry masks (sdpa), bf16 autocast on GPU
    width = 512 if not tiny else 128
    packed_rows, row, left = [], [], width
    for n in lengths.tolist() * 4:
        n = min(n + 2, width)
        if n > left:
            packed_rows.append(row)
            row, left = [], width
        row.append(n)
        left -= n
        if len(packed_rows) == (16 if not tiny else 4):
            break
    segments = segment_ids_for_rows(packed_rows, width)
    input_ids = torch.where(segments >= 0, torch.randint(5, 4096, segments.shape, generator=gen), 0)
    labels = torch.where((torch.rand(segments.shape, generator=gen) < 0.3) & (segments >= 0), input_ids, -100)
    batch = {"input_ids": input_ids, "attention_mask": (segments >= 0).long(), "segments": segments, "labels": labels}
    batch = {k: v.to(device) for k, v in batch.items()}
    steps = {}
    for attn in (VARLEN, "sdpa"):
        torch.manual_seed(0)
        mlm_config = ModernBertConfig(**{"vocab_size": 4096, **special, **shape})
        mlm_config._attn_implementation = attn
        model = MaskedLMModel(ModernBertForMaskedLM(mlm_config).to(device).train())
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            loss = model.loss(model(batch), batch)
        loss.backward()
        steps[attn] = (
            float(loss),
            torch.cat([p.grad.float().flatten() for p in model.parameters() if p.grad is not None]),
        )
        del model
    (lv, gv), (ls, gs) = steps[VARLEN], steps["sdpa"]
    out["training"] = {
        "kernel": uses_kernel(torch.empty(1, device=device, dtype=torch.bfloat16)),
        "loss_varlen": lv,
        "loss_dense": ls,
        "grad_cos": float(torch.nn.functional.cosine_similarity(gv, gs, dim=0)),
        "grad_max_rel": float((gv - gs).abs().max() / gs.abs().max()),
        "offsets_listed": int(varlen_cu_seqlens(segments).numel()) - 1,
    }
    checks = [out["training"]["grad_cos"]]
    for part in (
        inference.get("reference_vs_hf", {}),
        inference.get("kernel_vs_hf", {}),
        inference.get("kernel_vs_reference", {}),
    ):
        checks += [v["min_cos"] for v in part.values() if isinstance(v, dict) and "min_cos" in v]
    for part in ops.values():
        checks += [v["min_cos"] for v in part.values() if isinstance(v, dict) and "min_cos" in v]
    out["passed"] = bool(min(checks) >= out["tolerance"]["min_cos"])
    out["worst_min_cos"] = min(checks)
    return out


def run_script(module_main, argv: list[str], json_path: Path) -> dict:
    """A bench script's main(argv) in this process, its JSON read back; its printout kept (last lines)."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = module_main(argv)
    text = buffer.getvalue()
    print(text[-4000:], flush=True)
    result = json.loads(json_path.read_text()) if json_path.exists() else {}
    return {"exit": code, "argv": argv, "result": result, "printed_tail": text.splitlines()[-30:]}


def train_argv(ctx, variants: list[str], json_path: Path, extra: list[str] = ()) -> list[str]:
    if ctx.tiny:
        return [
            "--device",
            "cpu",
            "--tiny",
            "--steps",
            "2",
            "--warmup",
            "1",
            "--reference-steps",
            "2",
            "--variants",
            ",".join(variants),
            "--json",
            str(json_path),
            *extra,
        ]
    return [
        "--shapes",
        "base-150M",
        "--reference-steps",
        "20",
        "--variants",
        ",".join(variants),
        "--json",
        str(json_path),
        *extra,
    ]


def train_packed(ctx) -> dict:
    from docketbert.bench import training as train_throughput

    variants = ["packed_varlen", "packed_varlen+eager", "packed", "packed+eager"]
    if ctx.tiny:  # flex_attention compiles its kernels on the CPU (minutes on a few cores); compile once
        variants = ["packed_varlen", "packed_varlen+compile", "packed_sdpa"]
        ctx.skipped_branches["train_packed"] = {"packed (flex)": "cuda only: flex_attention compiles on the CPU"}
    path = ctx.scratch / "train_packed.json"
    out = run_script(train_throughput.main, train_argv(ctx, variants, path, ["--profile", "3"]), path)
    best = None
    for shape, table in out["result"].get("results", {}).items():
        for name, r in table.items():
            if (
                isinstance(r, dict)
                and "tokens_per_s" in r
                and (best is None or r["tokens_per_s"] > best["tokens_per_s"])
            ):
                best = {"shape": shape, "variant": name, "tokens_per_s": r["tokens_per_s"], "profile": r.get("profile")}
    out["best"] = best
    return out


def train_baselines(ctx) -> dict:
    from docketbert.bench import training as train_throughput

    variants = (
        ["reference", "reference+compile", "dense", "dense+compile"]
        if not ctx.tiny
        else ["reference", "dense", "dense+compile"]
    )
    path = ctx.scratch / "train_baselines.json"
    return run_script(train_throughput.main, train_argv(ctx, variants, path), path)


def train_e2e(ctx) -> dict:
    from docketbert.bench import training as train_throughput

    path = ctx.scratch / "train_e2e.json"
    common = [
        "--variants",
        "none",
        "--tokenizer",
        str(ctx.inputs / "tok"),
        "--data",
        str(shards(ctx)),
        "--train-py-root",
        str(ctx.scratch / "runs"),
        "--json",
        str(path),
    ]
    if ctx.tiny:
        argv = [
            "--device",
            "cpu",
            "--train-py",
            "yamls/tiny.yaml",
            *common,
            "--train-py-steps",
            "6",
            "--train-py-warmup",
            "2",
            "--steps-isolated",
            "2",
            "--override",
            "global_train_batch_size=8",
            "--override",
            "device_train_microbatch_size=8",
            "--override",
            "data.packing=true",
            "--override",
            "data.max_seq_len=256",
        ]
    else:  # base-150M from random weights, the isolated benchmark's batch: 64 packed rows of 512
        argv = [
            "--train-py",
            "yamls/base150m.yaml",
            *common,
            "--train-py-steps",
            "200",
            "--train-py-warmup",
            "10",
            "--steps-isolated",
            "10",
            "--override",
            "model.init=null",
            "--override",
            "global_train_batch_size=64",
            "--override",
            "device_train_microbatch_size=64",
            "--override",
            "data.max_seq_len=512",
            "--override",
            "data.num_workers=auto",
        ]
    try:
        import tensorboard  # noqa: F401
    except ImportError:  # the GPU image may lack it: the loop then logs to the console only
        argv += ["--override", "loggers.tensorboard=false"]
        ctx.skipped_branches["train_e2e"] = {"tensorboard logger": "tensorboard is not installed"}
    return run_script(train_throughput.main, argv, path)


def shards(ctx) -> Path:
    """The synthetic shards for the train.py run and the loader (inputs/synth_mds), else inputs/mds."""
    synth = ctx.inputs / "synth_mds"
    return synth if synth.exists() else ctx.inputs / "mds"


def loader(ctx) -> dict:
    from docketbert.bench import loader as loader_throughput

    path = ctx.scratch / "loader.json"
    argv = ["--data", str(shards(ctx)), "--tokenizer", str(ctx.inputs / "tok"), "--json", str(path)]
    argv += ["--start-methods", "fork,forkserver"]  # the fork server beside the plain fork it replaced
    if ctx.tiny:  # a small packing buffer, so that the timed batches still pack several buffers
        argv += ["--rows", "16", "--width", "256", "--buffer", "256", "--batches", "12", "--warmup", "1"]
    return run_script(loader_throughput.main, argv, path)


def infer(ctx, shapes: list[str], name: str) -> dict:
    from docketbert.bench import inference as command

    path = ctx.scratch / f"{name}.json"
    data = ctx.inputs / "data" / "docket_entries.jsonl.gz"
    if ctx.tiny:
        shapes = ["scratch-7M"] if name == "infer_base" else ["scratch-16M"]
        argv = [
            *shapes,
            "--end-to-end",
            "--device",
            "cpu",
            "--tokenizer",
            str(ctx.inputs / "tok"),
            "--data",
            str(data),
            "--entries",
            "300",
            "--reference-entries",
            "100",
            "--variants",
            "fp32+unpadded",
            "bf16+unpadded",
            "fp32+padded",
            "--profile-entries",
            "50",
            "--json",
            str(path),
        ]
        ctx.skipped_branches[name] = {
            "unpadded varlen (kernel)": "cuda only: on the CPU unpadded auto runs its padded attention",
            "bf16+unpadded+compile": "compiles on the CPU; the eager forward is what the CPU check covers",
        }
    else:
        argv = [
            *shapes,
            "--end-to-end",
            "--device",
            "cuda",
            "--tokenizer",
            str(ctx.inputs / "tok"),
            "--data",
            str(data),
            "--reference-entries",
            "25000",
            "--variants",
            "bf16+padded",
            "bf16+unpadded",
            "bf16+unpadded+compile",
            "--profile-entries",
            "10000",
            "--json",
            str(path),
        ]
    return run_script(command.main, argv, path)


def bench_variants(ctx) -> dict:
    """Every variant of the bench's table that runs on this device, in both timings, on scratch-7M."""
    from docketbert.bench import inference as command
    from docketbert.bench.variants import VARIANTS

    names = [n for n, v in VARIANTS.items() if v.skipped(ctx.device) is None and not (ctx.tiny and v.compile)]
    if ctx.tiny:
        ctx.skipped_branches["bench_variants"] = {
            "cuda-only variants": [n for n, v in VARIANTS.items() if v.skipped(ctx.device)],
            "compiled variants": "compile on the CPU; tests/bench/test_bench_variants.py runs them (slow)",
        }
    out = {}
    for timing, flags in (
        ("pre-tokenized", []),
        ("end-to-end", ["--end-to-end", "--tokenizer", str(ctx.inputs / "tok")]),
    ):
        path = ctx.scratch / f"bench_variants_{timing}.json"
        argv = ["scratch-7M", "--device", ctx.device.type, "--entries", "24" if ctx.tiny else "2000", *flags]
        argv += ["--data", str(ctx.inputs / "data" / "docket_entries.jsonl.gz")] if flags else []
        argv += ["--variants", *names, "--json", str(path)]
        run = run_script(command.main, argv, path)
        results = run["result"].get("models", [{}])[0].get("results", {})
        out[timing] = {
            "exit": run["exit"],
            "entries_per_s": {n: r.get("entries_per_s") for n, r in results.items()},
            "not_timed": {n: r.get("error") or r.get("status") for n, r in results.items() if not r.get("seconds")},
        }
    return out


def infer_db(ctx) -> dict:
    from docketbert.bench import infer as infer_throughput

    path = ctx.scratch / "infer_db.json"
    if ctx.tiny:
        argv = ["--shape", "scratch-7M", "--rows", "300", "--modes", "int8", "--device", "cpu"]
    else:
        argv = ["--shape", "base-150M", "--rows", "50000", "--modes", "bf16", "--device", "cuda"]
    report = infer_throughput.main([*argv, "--tokenizer", str(ctx.inputs / "tok"), "--json", str(path)])
    return {"argv": argv, "result": report}


class Context:
    def __init__(self, args):
        self.tiny, self.inputs = args.tiny, Path(args.inputs)
        self.device = torch.device("cpu" if args.tiny or not torch.cuda.is_available() else "cuda")
        self.scratch = Path(tempfile.mkdtemp(prefix="gpu_session_"))
        self.skipped_branches: dict = {}


RUNNERS = {
    "equality": equality,
    "train_packed": train_packed,
    "train_e2e": train_e2e,
    "loader": loader,
    "infer_base": lambda ctx: infer(ctx, ["base-150M"], "infer_base"),
    "infer_others": lambda ctx: infer(ctx, ["scratch-7M", "sliced-large-10l-175M"], "infer_others"),
    "train_baselines": train_baselines,
    "bench_variants": bench_variants,
    "infer_db": infer_db,
}


def environment(ctx) -> dict:
    import transformers

    from docketbert.model.varlen_attention import kernel_available

    info = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "device": torch.cuda.get_device_name() if ctx.device.type == "cuda" else f"CPU ({platform.machine()})",
        "varlen_kernel": kernel_available(),
        "tiny": ctx.tiny,
    }
    try:
        import composer
        import streaming

        info["composer"], info["streaming"] = composer.__version__, streaming.__version__
    except ImportError as err:
        info["missing"] = str(err)
    return info


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="the session's JSON")
    parser.add_argument("--inputs", default=".gpu", help="data/, tok/, mds/ (gpu_session/prepare_inputs.sh)")
    parser.add_argument("--deadline", type=float, default=510, help="seconds for the whole session (default 510)")
    parser.add_argument("--stages", default=",".join(STAGES), help=f"comma list, in order (default all: {STAGES})")
    parser.add_argument("--tiny", action="store_true", help="a CPU dry run: tiny shapes, few steps")
    args = parser.parse_args(argv)
    stages = args.stages.split(",")
    unknown = sorted(set(stages) - set(STAGES))
    if unknown:
        parser.error(f"unknown stages {unknown}; choose from {STAGES}")
    if not args.tiny and not torch.cuda.is_available():
        parser.error("no CUDA device: run it on the GPU machine, or --tiny here")
    for need in ("tok", "mds", "data/docket_entries.jsonl.gz"):
        if not (Path(args.inputs) / need).exists():
            parser.error(f"{args.inputs}/{need} is missing: build the inputs with gpu_session/prepare_inputs.sh")
    ctx = Context(args)
    start = time.perf_counter()
    report = {"environment": environment(ctx), "deadline_s": args.deadline, "stages": {}}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for name in stages:
        left = args.deadline - (time.perf_counter() - start)
        box = min(BOXES[name][1 if args.tiny else 0], left)
        print(f"== {name}: box {box:.0f} s, at {time.perf_counter() - start:.0f} s", flush=True)
        if box < MIN_BOX:
            report["stages"][name] = {"status": "skipped", "reason": f"{left:.0f} s left before the deadline"}
            continue
        t0 = time.perf_counter()
        try:
            with time_box(box):
                result = RUNNERS[name](ctx)
            entry = {"status": "ok", **(result if isinstance(result, dict) else {"result": result})}
        except StageTimeout as err:
            entry = {"status": "timeout", "reason": str(err)}
        except Exception as err:  # one failing stage must not lose the others
            traceback.print_exc()
            entry = {"status": "error", "error": f"{type(err).__name__}: {err}"}
        entry["seconds"] = round(time.perf_counter() - t0, 1)
        report["stages"][name] = entry
        report["skipped_branches"] = ctx.skipped_branches
        report["elapsed_s"] = round(time.perf_counter() - start, 1)
        out.write_text(json.dumps(report, indent=2, default=str))
        print(f"== {name}: {entry['status']} after {entry['seconds']} s", flush=True)
        if ctx.device.type == "cuda":
            torch.cuda.empty_cache()
    report["elapsed_s"] = round(time.perf_counter() - start, 1)
    out.write_text(json.dumps(report, indent=2, default=str))
    print(f"wrote {out} after {report['elapsed_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
