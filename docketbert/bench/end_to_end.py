"""End to end from texts (`python -m docketbert.bench --end-to-end`): the variants of variants.py timed from the
raw texts to embeddings on the host, tokenization included, in one process.

- `seed` / `sorted`: tokenize (the transformers call, truncated to 768 tokens), batches of the first batch size
  (seed: shuffled; sorted: by length) padded to a multiple of 8, the forward; the clock covers all of it.
- a fast variant: `Encoder.embed` (its own tokenization and batches) after an untimed warm-up (a compiled variant
  warms up on every text, so every batch shape is compiled before the clock starts).
Each time is the best of `reps`. Each fast variant also records the CLS and mean-pooled cosine to the fp32
fast path on the first 64 texts: the first `fp32` variant run without compile, else padded fp32 batches.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from docketbert.bench.protocols import EncoderSource, Settings, make_batches
from docketbert.bench.variants import VARIANTS, Variant, add_speedups, check_names, failed
from docketbert.core.device import synchronize

PROBE = 64  # texts the cosines to the fp32 path are taken on


def protocol_from_texts(
    model: torch.nn.Module, tokenizer, texts: list[str], device: torch.device, order: str, batch_size: int
) -> float:
    """Seconds for the reference's protocol from texts: tokenize, batches in `order` padded to a multiple of 8, the
    forward (bf16 autocast on a GPU)."""
    synchronize(device)
    start = time.perf_counter()
    ids = [np.asarray(r, dtype=np.int64) for r in tokenizer(texts, truncation=True, max_length=768)["input_ids"]]
    with torch.inference_mode(), torch.autocast(device.type, torch.bfloat16, enabled=device.type == "cuda"):
        for x, mask in make_batches(ids, batch_size, model.config.pad_token_id, order):
            model(input_ids=x.to(device), attention_mask=mask.to(device))
    synchronize(device)
    return time.perf_counter() - start


def _protocol(
    variant: Variant,
    source: EncoderSource,
    texts: list[str],
    tokenizer,
    s: Settings,
    reps: int,
    reference_entries: int | None,
) -> dict[str, Any]:
    """`reference_entries`: time on the first N texts only and scale the seconds to all of them (recorded as such)."""
    cuda = s.device.type == "cuda"
    attn = variant.attention(s.device, s)
    model = source.encoder(attn, s.device)
    batch_size = s.batch_sizes[0]
    protocol_from_texts(
        model, tokenizer, texts[:2048] if cuda else texts[:32], s.device, variant.order, batch_size
    )  # warm-up
    timed = texts[:reference_entries] if reference_entries and reference_entries < len(texts) else texts
    seconds = min(
        protocol_from_texts(model, tokenizer, timed, s.device, variant.order, batch_size) for _ in range(reps)
    )
    return {
        "label": variant.label,
        "seconds": round(seconds * len(texts) / len(timed), 4),
        "measured_entries": len(timed),
        "measured_seconds": round(seconds, 4),
        "best_batch_size": batch_size,
        "attn_implementation": attn,
        "dtype": "bf16 autocast" if cuda else "fp32",
    }


def _fast(
    variant: Variant,
    source: EncoderSource,
    texts: list[str],
    tokenizer,
    s: Settings,
    reps: int,
    runtime_cache: str,
    profile_entries: int,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The result and the pooled vectors of the probe texts ({"cls": ..., "mean": ...})."""
    cuda = s.device.type == "cuda"
    encs = {
        p: variant.encoder(source, s, tokenizer, pooling=p, max_length=768, runtime_cache=runtime_cache)
        for p in ("cls", "mean")
    }
    encs["cls"].embed(texts if variant.compile else texts[:4096] if cuda else texts[:32])  # warm-up
    best = float("inf")
    for _ in range(reps):
        start = time.perf_counter()
        vectors = encs["cls"].embed(texts)
        best = min(best, time.perf_counter() - start)
    pooled = {"cls": vectors[:PROBE], "mean": encs["mean"].embed(texts[:PROBE])}
    profiled = None
    if profile_entries and encs["cls"].openvino is not None:
        profiled = profile_openvino(encs["cls"], texts[:profile_entries])
    elif profile_entries:
        from docketbert.bench.profiling import profile_run

        profiled = {
            "entries": profile_entries,
            **profile_run(lambda: encs["cls"].embed(texts[:profile_entries]), s.device),
        }
    return {
        "label": variant.label,
        "seconds": round(best, 4),
        "token_budget": encs["cls"].token_budget,
        "layout": variant.layout,
        "mode": variant.mode,
        "best_batch_size": None,
        "attn_implementation": variant.attention(s.device, s),
        "profile": profiled,
    }, pooled


def profile_openvino(enc, texts: list[str], top: int = 15) -> dict[str, Any]:
    """OpenVINO's per-op counters (PERF_COUNT) summed over one `embed` of `texts`: the top ops by time, the time
    inside the graph, and the rest of the wall time (tokenization, batching, Python)."""
    runtime = enc.openvino
    runtime.start_profiling()
    enc.embed(texts[:32])  # recompiled with counters: warm it up, then count one pass
    runtime.profile = {}
    start = time.perf_counter()
    enc.embed(texts)
    wall = time.perf_counter() - start
    graph_ms = sum(us for us, _ in runtime.profile.values()) / 1000
    by_op: dict[str, float] = {}
    for (op, _), (us, _) in runtime.profile.items():
        by_op[op] = by_op.get(op, 0.0) + us / 1000
    return {
        "entries": len(texts),
        "wall_s": round(wall, 4),
        "graph_s": round(graph_ms / 1000, 4),
        "outside_graph_s": round(wall - graph_ms / 1000, 4),
        "by_op_type_ms": {k: round(v, 1) for k, v in sorted(by_op.items(), key=lambda kv: -kv[1])[:top]},
        "top_kernels": runtime.profile_table(top),
    }


def _reference(source: EncoderSource, texts: list[str], tokenizer, s: Settings) -> dict[str, np.ndarray]:
    exact = VARIANTS["fp32+padded"]
    return {
        p: exact.encoder(source, s, tokenizer, pooling=p, max_length=768).embed(texts[:PROBE]) for p in ("cls", "mean")
    }


def cosines(pooled: dict[str, np.ndarray], reference: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    out = {}
    for p, v in pooled.items():
        r = reference[p]
        cos = (v * r).sum(1) / (np.linalg.norm(v, axis=1) * np.linalg.norm(r, axis=1))
        out[f"cosine_{p}_vs_fp32"] = {"min": round(float(cos.min()), 5), "mean": round(float(cos.mean()), 5)}
    return out


def run_end_to_end(
    source: EncoderSource,
    texts: list[str],
    tokenizer,
    names: Sequence[str],
    settings: dict[str, Settings],
    reps: int = 1,
    reference_entries: int | None = None,
    profile_entries: int = 0,
    progress: Callable[[str, float | None], None] = lambda *_: None,
) -> dict[str, dict[str, Any]]:
    """The named variants from texts (settings per variant name, or under "default"); `speedup` is over "reference";
    `progress(what, seconds)` after each variant, so a run cut short by a time limit still says how far it got."""
    check_names(names)
    results: dict[str, dict[str, Any]] = {}
    reference: dict[str, np.ndarray] = {}
    fast = [VARIANTS[n] for n in names if not VARIANTS[n].protocol]
    if fast and not any(v.mode == "fp32" and not v.compile for v in fast):
        reference = _reference(source, texts, tokenizer, settings["default"])
    with tempfile.TemporaryDirectory(prefix="docketbert-bench-runtime-") as runtime_cache:  # one conversion a model
        for name in names:
            variant, s = VARIANTS[name], settings.get(name, settings["default"])
            result = variant.skipped(s.device)
            if result is None:
                try:
                    if variant.protocol:
                        result = _protocol(variant, source, texts, tokenizer, s, reps, reference_entries)
                    else:
                        result, pooled = _fast(
                            variant, source, texts, tokenizer, s, reps, runtime_cache, profile_entries
                        )
                        if not reference and variant.mode == "fp32" and not variant.compile:
                            reference = pooled
                        else:
                            result.update(cosines(pooled, reference))
                except Exception as err:  # noqa: BLE001 - recorded; the other variants still run
                    result = failed(variant.label, err, s.device)
            results[name] = result
            if result.get("seconds"):
                result["entries"], result["entries_per_s"] = len(texts), round(len(texts) / result["seconds"], 2)
            progress(
                name
                if result.get("seconds")
                else f"{name} {result.get('status')}: {result.get('error') or result.get('reason')}",
                result.get("seconds"),
            )
            if s.device.type == "cuda":
                torch.cuda.empty_cache()
    return add_speedups(results)
