"""The fast inference path as benchmark variants, beside the seed protocol of `docketbert.inference_bench`.

Each variant has the seed variant's signature `(source, entries, settings) -> result dict` and times
`inference.Encoder.embed_ids` (length-sorted token-budget batches, CLS pooling, outputs back in input order) over
the pre-tokenized entries after one untimed warm-up pass (which also compiles, where a variant compiles).
`settings.extra["token_budget"]` overrides the per-device budget. A variant that fails reports the error instead of
stopping the benchmark (the GPU variants are written without a GPU at hand).

    FAST_VARIANTS: fast_exact   unpadded layout (docketbert.unpadded), fp32 (cpu) / packed rows, FlexAttention, fp32 (cuda)
                   fast_bf16    the same with bf16 weights (lossy)
                   fast_int8    dynamic int8 Linear layers, cpu only (lossy)
                   fast_onnx_int8  ONNX Runtime, dynamic int8, cpu only (lossy; export untimed)
                   packed_sdpa  packed rows with dense sdpa masks, fp32 (cpu) / bf16 (cuda)
                   packed_flex_compiled  packed rows, FlexAttention, bf16, torch.compile (cuda)

End to end with tokenization, seed protocol and fast variants in one process (what BENCHMARKS.md records):

    python -m docketbert.fast_bench --shape base-150M --tokenizer /tmp/tok --entries 200 --threads 2
    python -m docketbert.fast_bench --device cuda --shape base-150M sliced-large-10l-175M scratch-7M \
        --tokenizer TOKENIZER --json gpu.json          # 100k entries (the 14k-entry corpus repeated)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from typing import Any, Callable, Sequence

import numpy as np
import torch

from docketbert.core.cpu_memory import keep_freed_memory
from docketbert.inference.encoder import Encoder, apply_mode


def _encoder(source, s, mode: str, layout: str, attn: str, compile: bool = False) -> Encoder:
    model = apply_mode(source.encoder(attn, torch.device("cpu")), mode, s.device).to(s.device)
    return Encoder(model, None, s.device, mode=mode, pooling="cls",
                   token_budget=s.extra.get("token_budget"), layout=layout, compile=compile)


def _time(enc: Encoder, entries: Sequence[np.ndarray], label: str, **info) -> dict[str, Any]:
    ids = [e.tolist() for e in entries]
    enc.embed_ids(ids)  # warm-up (kernels, allocator, compilation)
    if enc.device.type == "cuda":
        torch.cuda.synchronize(enc.device)
    start = time.perf_counter()
    enc.embed_ids(ids)  # copies the result to the host, so the device is synchronized
    seconds = time.perf_counter() - start
    return {"label": label, "seconds": round(seconds, 4), "entries": len(entries),
            "entries_per_s": round(len(entries) / seconds, 2), "real_tokens": int(sum(len(e) for e in entries)),
            "token_budget": enc.token_budget, "layout": enc.layout, "mode": enc.mode, "best_batch_size": None, **info}


def _guarded(fn: Callable) -> Callable:
    def variant(source, entries, s) -> dict[str, Any]:
        try:
            return fn(source, entries, s)
        except Exception as err:  # noqa: BLE001 - recorded in the report, the other variants still run
            if s.device.type == "cuda":
                torch.cuda.empty_cache()
            return {"label": fn.__doc__.splitlines()[0], "status": "error", "error": f"{type(err).__name__}: {err}"[:300],
                    "seconds": None, "entries_per_s": None}
    variant.__doc__ = fn.__doc__
    return variant


def _default(s) -> tuple[str, str]:
    return ("packed", "flex_attention") if s.device.type == "cuda" else ("unpadded", "sdpa")


@_guarded
def fast_exact(source, entries, s):
    """fast path, fp32 (cpu: unpadded layout, sorted token-budget batches; cuda: packed rows, FlexAttention)"""
    layout, attn = _default(s)
    return _time(_encoder(source, s, "exact", layout, attn), entries, fast_exact.__doc__, attn_implementation=attn)


@_guarded
def fast_bf16(source, entries, s):
    """fast path, bf16 weights (lossy)"""
    layout, attn = _default(s)
    return _time(_encoder(source, s, "bf16", layout, attn), entries, fast_bf16.__doc__, attn_implementation=attn)


@_guarded
def fast_int8(source, entries, s):
    """fast path, dynamic int8 Linear layers (cpu only, lossy)"""
    if s.device.type != "cpu":
        return {"label": "fast path, int8", "status": "skipped", "reason": "cpu only", "seconds": None}
    return _time(_encoder(source, s, "int8", "unpadded", "sdpa"), entries, fast_int8.__doc__, attn_implementation="sdpa")


@_guarded
def fast_onnx_int8(source, entries, s):
    """fast path, ONNX Runtime with dynamic int8 (cpu only, lossy; the export is not timed)"""
    if s.device.type != "cpu":
        return {"label": "fast path, onnx int8", "status": "skipped", "reason": "cpu only", "seconds": None}
    enc = _encoder(source, s, "onnx_int8", "padded", "sdpa")  # exported into the Encoder's own temporary folder
    return _time(enc, entries, fast_onnx_int8.__doc__, attn_implementation="onnx")


@_guarded
def packed_sdpa(source, entries, s):
    """packed rows, dense sdpa masks (fp32 on cpu, bf16 on cuda)"""
    mode = "bf16" if s.device.type == "cuda" else "exact"
    return _time(_encoder(source, s, mode, "packed", "sdpa"), entries, packed_sdpa.__doc__, attn_implementation="sdpa")


@_guarded
def packed_flex_compiled(source, entries, s):
    """packed rows, FlexAttention BlockMasks, bf16, torch.compile (cuda)"""
    if s.device.type != "cuda":
        return {"label": "packed flex compiled", "status": "skipped", "reason": "cuda only (compiling on 2 cpu cores "
                "takes minutes)", "seconds": None}
    return _time(_encoder(source, s, "bf16", "packed", "flex_attention", compile=True), entries,
                 packed_flex_compiled.__doc__, attn_implementation="flex_attention")


FAST_VARIANTS = {"fast_exact": fast_exact, "fast_bf16": fast_bf16, "fast_int8": fast_int8, "fast_onnx_int8": fast_onnx_int8,
                 "packed_sdpa": packed_sdpa, "packed_flex_compiled": packed_flex_compiled}


# ---- end to end from texts, the seed protocol in the same process -------------------------------------------------

def read_texts(path: str, n: int) -> list[str]:
    """The first `n` entries of a file (repeated from the start when it holds fewer)."""
    from docketbert.data.readers import iter_rows

    texts = []
    for row in iter_rows(path, docket_column=None):
        texts.append(row.text or "")
        if len(texts) == n:
            break
    return [texts[i % len(texts)] for i in range(n)]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def seed_end_to_end(model: torch.nn.Module, tokenizer, texts: list[str], device: torch.device,
                    batch_size: int = 32) -> float:
    """The seed's protocol from texts: tokenize, shuffled batches of 32 padded to a multiple of 8; CPU: eager fp32,
    GPU: the model's attention (sdpa) under bf16 autocast."""
    from docketbert.bench.protocols import make_batches

    _sync(device)
    start = time.perf_counter()
    ids = [np.asarray(r, dtype=np.int64) for r in tokenizer(texts, truncation=True, max_length=768)["input_ids"]]
    with torch.inference_mode(), torch.autocast(device.type, torch.bfloat16, enabled=device.type == "cuda"):
        for x, mask in make_batches(ids, batch_size, model.config.pad_token_id, "shuffled"):
            model(input_ids=x.to(device), attention_mask=mask.to(device))
    _sync(device)
    return time.perf_counter() - start


def _progress(shape: str, what: str, seconds: float | None) -> None:
    """One line per finished phase, so a run cut short by a time limit still says how far it got."""
    print(f"  [{time.strftime('%H:%M:%S')}] {shape} {what}" + (f": {seconds:.3f} s" if seconds else ""), flush=True)


def end_to_end(shape: str, texts: list[str], tokenizer, modes: Sequence[str], reps: int = 1,
               device: torch.device = torch.device("cpu"), seed_entries: int | None = None,
               profile_entries: int = 0) -> dict[str, Any]:
    """Seconds from texts to CLS embeddings (on the host) for the seed protocol and each fast mode, best of `reps`,
    and each mode's CLS/mean cosine to the exact (fp32) fast path on the first 64 entries. A mode "M+compile" is
    mode M with torch.compile, "M+padded" mode M on length-sorted padded batches with HF's sdpa
    forward instead of packed rows (cuda) or the unpadded layout (cpu), "M+unpadded" mode M in the unpadded layout
    (`docketbert.unpadded`; the cpu default, opt-in on cuda).
    `seed_entries`: time the seed protocol on the first N texts only and scale its
    seconds to all of them (recorded as such), to keep a GPU call short. `profile_entries`: after timing, profile
    each mode on the first N texts (`docketbert.profiling`)."""
    from docketbert.bench.command import resolve_model

    source = resolve_model(shape)
    cpu = torch.device("cpu")
    cuda = device.type == "cuda"
    layout, attn = ("packed", "flex_attention") if cuda else ("unpadded", "sdpa")
    out: dict[str, Any] = {"shape": shape, "entries": len(texts), "device": device.type, "variants": {}}
    seed_model = source.encoder("eager" if not cuda else "sdpa", device)
    seed_end_to_end(seed_model, tokenizer, texts[:2048] if cuda else texts[:32], device)  # warm-up
    seed_texts = texts[:seed_entries] if seed_entries and seed_entries < len(texts) else texts
    seconds = min(seed_end_to_end(seed_model, tokenizer, seed_texts, device) for _ in range(reps))
    out["variants"]["seed"] = {"seconds": round(seconds * len(texts) / len(seed_texts), 4),
                               "measured_entries": len(seed_texts), "measured_seconds": round(seconds, 4)}
    del seed_model
    probe = texts[:64]
    reference = {}
    onnx_dir = tempfile.TemporaryDirectory(prefix="docketbert-bench-onnx-")  # the shape's ONNX exports
    if "exact" not in modes:  # the fp32 reference for the cosines on the probe entries: padded sorted sdpa batches
        model = apply_mode(source.encoder("sdpa", cpu), "exact", device).to(device)
        reference = {p: Encoder(model, tokenizer, device, mode="exact", pooling=p, max_length=768,
                                layout="padded").embed(probe) for p in ("cls", "mean")}
        del model
    _progress(shape, "seed", out["variants"]["seed"]["seconds"])
    for name in modes:
        mode, *options = name.split("+")
        compiled = "compile" in options
        m_layout, m_attn = ("padded", "sdpa") if ("padded" in options or mode.startswith("onnx")) else (layout, attn)
        if "unpadded" in options:
            m_layout, m_attn = "unpadded", "sdpa"
        onnx = {"onnx_cache": onnx_dir.name} if mode.startswith("onnx") else {}  # one export for both poolings
        try:
            model = apply_mode(source.encoder(m_attn, cpu), mode, device).to(device)
            encs = {p: Encoder(model, tokenizer, device, mode=mode, pooling=p, max_length=768, layout=m_layout,
                               compile=compiled, **onnx) for p in ("cls", "mean")}
            # warm-up: kernels and allocator; a compiled mode sees every batch shape first, so no compilation is timed
            encs["cls"].embed(texts if compiled else texts[:4096] if cuda else texts[:32])
            _progress(shape, f"fast_{name} warm-up done", None)
            best = float("inf")
            for _ in range(reps):
                start = time.perf_counter()
                vectors = encs["cls"].embed(texts)
                best = min(best, time.perf_counter() - start)
            pooled = {"cls": vectors[:64], "mean": encs["mean"].embed(probe)}
            profiled = None
            if profile_entries:
                from docketbert.bench.profiling import profile_run

                profiled = {"entries": profile_entries,
                            **profile_run(lambda: encs["cls"].embed(texts[:profile_entries]), device)}
        except Exception as err:  # noqa: BLE001 - recorded; the other variants still run
            out["variants"][f"fast_{name}"] = {"seconds": None, "error": f"{type(err).__name__}: {err}"[:300]}
            _progress(shape, f"fast_{name} failed: {err}"[:300], None)
            continue
        result = {"seconds": round(best, 4), "token_budget": encs["cls"].token_budget, "layout": m_layout,
                  "attn_implementation": m_attn, "profile": profiled}
        _progress(shape, f"fast_{name}", best)
        if mode == "exact" and not options and not reference:
            reference = pooled
        elif reference:
            for p, v in pooled.items():
                r = reference[p]
                cos = (v * r).sum(1) / (np.linalg.norm(v, axis=1) * np.linalg.norm(r, axis=1))
                result[f"cosine_{p}_vs_exact"] = {"min": round(float(cos.min()), 5), "mean": round(float(cos.mean()), 5)}
        out["variants"][f"fast_{name}"] = result
        del encs, model
        if cuda:
            torch.cuda.empty_cache()
    base = out["variants"]["seed"]["seconds"]
    for v in out["variants"].values():
        if v.get("seconds"):
            v["speedup"] = round(base / v["seconds"], 2)
            v["entries_per_s"] = round(len(texts) / v["seconds"], 1)
    return out


def main(argv: list[str] | None = None) -> int:
    import os

    p = argparse.ArgumentParser(prog="python -m docketbert.fast_bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shape", nargs="+", default=["base-150M"], help="seed shapes (python -m docketbert.bench --list)")
    p.add_argument("--tokenizer", required=True, help="a fast tokenizer directory")
    p.add_argument("--input", default="../shared/data/docket_entries.jsonl.gz", help="entries (jsonl/csv/txt)")
    p.add_argument("--entries", type=int, help="the first N entries (default: 200 on cpu, 100000 on cuda, the "
                                                "file repeated when shorter)")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="default cpu")
    p.add_argument("--modes", nargs="+",
                   help="fast modes to time: M, M+compile, M+padded or M+unpadded, M one of exact bf16 int8 onnx "
                        "onnx_int8 (default: cpu exact exact+padded bf16 int8 int8+padded onnx_int8; cuda bf16+padded "
                        "bf16+unpadded bf16+compile, with an fp32 reference on 64 entries)")
    p.add_argument("--seed-entries", type=int, help="time the seed protocol on the first N entries only and scale "
                                                     "it to --entries (recorded; keeps a GPU call short)")
    p.add_argument("--profile-entries", type=int, default=0, metavar="N",
                   help="after timing, profile each fast mode on the first N entries (torch.profiler): top ops by "
                        "device time and, on a GPU, its busy fraction (in the JSON)")
    p.add_argument("--reps", type=int, default=1, help="timed repetitions per variant; the best is kept")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--json", help="also write the results here")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")
    from transformers import AutoTokenizer

    from docketbert.bench.protocols import machine_info

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    if not cuda:  # before any variant runs, so the seed protocol gets the same allocator settings
        keep_freed_memory()
    modes = args.modes or (["bf16+padded", "bf16+unpadded", "bf16+compile"] if cuda else
                           ["exact", "exact+padded", "bf16", "int8", "int8+padded", "onnx_int8"])
    tokenizer = AutoTokenizer.from_pretrained(args.tokenizer)
    texts = read_texts(args.input, args.entries or (100_000 if cuda else 200))
    report = {"machine": machine_info(), "load_before": os.getloadavg(), "command": " ".join(sys.argv),
              "results": []}
    for shape in args.shape:
        r = end_to_end(shape, texts, tokenizer, modes, args.reps, device, args.seed_entries, args.profile_entries)
        report["results"].append(r)
        for name, v in r["variants"].items():
            if not v.get("seconds"):
                print(f"{shape} {name}: {v.get('error')}", flush=True)
                continue
            print(f"{shape} {name}: {v['seconds']:.3f} s ({v['speedup']}x) "
                  f"{ {k: x for k, x in v.items() if k.startswith('cosine')} or ''}", flush=True)
        report["load_after"] = os.getloadavg()
        if args.json:  # after every shape, so a run cut short keeps what it measured
            with open(args.json, "w") as f:
                json.dump(report, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
