"""The one table of inference-benchmark variants: every name `python -m docketbert.bench`, its JSON, the `benchmark`
callback's bench.json and BENCHMARKS.md use.

    reference                 the reference's protocol: shuffled batches padded per batch to a multiple of 8; CPU: eager
                              attention, fp32; GPU: bf16 autocast, flash_attention_2 where installed, else sdpa
    sorted                    the same with length-sorted batches (visited in random order) and sdpa
    MODE+LAYOUT[+compile]     the fast path, `inference.Encoder` (length-sorted token-budget batches, CLS pooling,
                              results in input order) in one of its modes and layouts:
        MODE    fp32, bf16 (bf16 weights; lossy), int8 (dynamic int8 Linear layers; CPU only, lossy),
                openvino / openvino_int8 (OpenVINO fp32 / NNCF int8 weights and activations; CPU only, padded
                only; the conversion and quantization are untimed)
        LAYOUT  unpadded (docketbert.model.unpadded: real tokens only), padded (HF's forward, sdpa), packed (packed
                rows, dense per-entry sdpa masks), packed_flex (packed rows, FlexAttention BlockMasks; GPU only)
        compile torch.compile (unpadded: its per-layer pieces, dynamic shapes; packed_flex: the encoder, static
                shapes); the untimed warm-up pass compiles

Pre-tokenized (`variant(source, entries, settings)`), a protocol variant sweeps its batch sizes and a fast variant
times one pass of `Encoder.embed_ids` after an untimed warm-up pass; end to end from texts see end_to_end.py. A
variant that cannot run on the device is recorded as skipped, one that fails records its error: the other variants
still run.
"""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from docketbert.bench.protocols import EncoderSource, Settings, sweep
from docketbert.core.device import synchronize
from docketbert.inference.encoder import MODE_ALIASES, RUNTIME_MODES, Encoder, apply_mode
from docketbert.inference.openvino_runtime import CALIBRATION_ENTRIES

# Variant-name layout -> (Encoder layout, attention implementation).
LAYOUTS = {
    "unpadded": ("unpadded", "sdpa"),
    "padded": ("padded", "sdpa"),
    "packed": ("packed", "sdpa"),
    "packed_flex": ("packed", "flex_attention"),
}
CPU_ONLY = "cpu only"
FLEX_GPU_ONLY = "cuda only: on the CPU FlexAttention compiles its kernels, minutes on a few cores"


@dataclass(frozen=True)
class Variant:
    """One row of the table: a reference protocol (`order` set) or a fast path (`mode`, `layout`, `compile`)."""

    name: str
    label: str
    order: str | None = None
    mode: str | None = None
    layout: str | None = None
    compile: bool = False
    devices: tuple[str, ...] = ("cpu", "cuda")
    why_not: str = ""

    @property
    def protocol(self) -> bool:
        return self.order is not None

    def attention(self, device: torch.device, s: Settings) -> str:
        if self.name == "reference":
            return s.gpu_attn if device.type == "cuda" else "eager"
        return "sdpa" if self.protocol else LAYOUTS[self.layout][1]

    def skipped(self, device: torch.device) -> dict[str, Any] | None:
        if device.type in self.devices:
            return None
        return {
            "label": self.label,
            "status": "skipped",
            "reason": self.why_not,
            "seconds": None,
            "entries_per_s": None,
        }

    def encoder(
        self,
        source: EncoderSource,
        s: Settings,
        tokenizer=None,
        pooling: str = "cls",
        max_length: int | None = None,
        runtime_cache: str | None = None,
        calibration_rows: Sequence[Sequence[int]] | None = None,
    ) -> Encoder:
        """A fresh fast-path Encoder of `source` (weights in this variant's mode, moved to the device); a runtime
        mode (openvino) keeps its converted graphs in `runtime_cache` (default: a folder of its own)."""
        layout, attn = LAYOUTS[self.layout]
        model = apply_mode(source.encoder(attn, torch.device("cpu")), self.mode, s.device).to(s.device)
        return Encoder(
            model,
            tokenizer,
            s.device,
            mode=self.mode,
            pooling=pooling,
            max_length=max_length,
            token_budget=s.extra.get("token_budget"),
            layout=layout,
            compile=self.compile,
            runtime_cache=runtime_cache if self.mode in RUNTIME_MODES else None,
            calibration_rows=calibration_rows,
        )

    def __call__(self, source: EncoderSource, entries: Sequence[np.ndarray], s: Settings) -> dict[str, Any]:
        """Pre-tokenized: the reference protocols sweep `s.batch_sizes`; a fast path times one pass after a warm-up."""
        skipped = self.skipped(s.device)
        if skipped:
            return skipped
        bf16 = s.device.type == "cuda"
        attn = self.attention(s.device, s)
        if self.protocol:
            result = sweep(
                source.encoder(attn, s.device),
                entries,
                s.batch_sizes,
                source.config.pad_token_id,
                self.order,
                s.device,
                bf16=bf16,
                budget_s=s.budget_s,
            )
            return {
                "label": self.label,
                "attn_implementation": attn,
                "dtype": "bf16 autocast" if bf16 else "fp32",
                **result,
            }
        try:
            ids = [e.tolist() for e in entries]
            # No tokenizer here: openvino_int8 is calibrated on the benchmark's own token rows.
            calibration = ids[:CALIBRATION_ENTRIES] if self.mode == "openvino_int8" else None
            enc = self.encoder(source, s, calibration_rows=calibration)
            enc.embed_ids(ids)  # warm-up (kernels, allocator, compilation)
            synchronize(enc.device)
            start = time.perf_counter()
            enc.embed_ids(ids)  # copies the result to the host, so the device is synchronized
            seconds = time.perf_counter() - start
        except Exception as err:  # noqa: BLE001 - recorded in the report, the other variants still run
            return failed(self.label, err, s.device)
        return {
            "label": self.label,
            "seconds": round(seconds, 4),
            "entries": len(entries),
            "entries_per_s": round(len(entries) / seconds, 2),
            "real_tokens": int(sum(len(e) for e in entries)),
            "token_budget": enc.token_budget,
            "layout": self.layout,
            "mode": self.mode,
            "attn_implementation": RUNTIME_MODES.get(self.mode, attn),
            "best_batch_size": None,
        }


def failed(label: str, err: Exception, device: torch.device) -> dict[str, Any]:
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return {
        "label": label,
        "status": "error",
        "error": f"{type(err).__name__}: {err}"[:300],
        "seconds": None,
        "entries_per_s": None,
    }


def _table() -> dict[str, Variant]:
    table = {
        "reference": Variant("reference", "reference protocol (shuffled, padded per batch)", order="shuffled"),
        "sorted": Variant("sorted", "length-sorted batches, sdpa", order="sorted"),
    }
    modes = {"fp32": "fp32", "bf16": "bf16 weights (lossy)", "int8": "dynamic int8 Linear layers (lossy)"}
    layouts = {
        "unpadded": "unpadded layout",
        "padded": "sorted padded batches, sdpa",
        "packed": "packed rows, dense sdpa masks",
        "packed_flex": "packed rows, FlexAttention",
    }
    for (mode, what), (layout, where), compile in itertools.product(modes.items(), layouts.items(), (False, True)):
        if (mode == "int8" and layout == "packed_flex") or (compile and layout not in ("unpadded", "packed_flex")):
            continue
        name = f"{mode}+{layout}" + ("+compile" if compile else "")
        cpu_only, gpu_only = mode == "int8", layout == "packed_flex"
        table[name] = Variant(
            name,
            f"fast path, {what}, {where}" + (", torch.compile" if compile else ""),
            mode=mode,
            layout=layout,
            compile=compile,
            devices=("cpu",) if cpu_only else ("cuda",) if gpu_only else ("cpu", "cuda"),
            why_not=CPU_ONLY if cpu_only else FLEX_GPU_ONLY if gpu_only else "",
        )
    runtimes = (
        ("openvino", "OpenVINO fp32"),
        ("openvino_int8", "OpenVINO NNCF int8 (lossy)"),
    )
    for mode, what in runtimes:
        table[f"{mode}+padded"] = Variant(
            f"{mode}+padded",
            f"fast path, {what}, sorted padded batches (conversion untimed)",
            mode=mode,
            layout="padded",
            devices=("cpu",),
            why_not=CPU_ONLY,
        )
    return table


VARIANTS: dict[str, Variant] = _table()

# What runs when --variants is not given, per device and timing.
DEFAULTS: dict[tuple[str, bool], list[str]] = {
    ("cpu", False): [
        "reference",
        "sorted",
        "fp32+unpadded",
        "bf16+unpadded",
        "int8+unpadded",
        "openvino_int8+padded",
        "fp32+packed",
    ],
    ("cuda", False): [
        "reference",
        "sorted",
        "bf16+padded",
        "bf16+unpadded",
        "bf16+packed",
        "bf16+packed_flex",
        "bf16+packed_flex+compile",
    ],
    ("cpu", True): [
        "reference",
        "fp32+unpadded",
        "fp32+padded",
        "bf16+unpadded",
        "int8+unpadded",
        "int8+padded",
        "openvino+padded",
        "openvino_int8+padded",
    ],
    ("cuda", True): ["reference", "bf16+padded", "bf16+unpadded", "bf16+packed_flex+compile"],
}


def default_variants(device: torch.device, end_to_end: bool = False) -> list[str]:
    return list(DEFAULTS[(device.type, end_to_end)])


# Old variant names still accepted for one release, each with a note: `seed` is now `reference` (the reference
# project's protocol; "seed" means the random seed only), and a renamed mode is renamed inside MODE+LAYOUT.
RENAMED = {"seed": "reference", **MODE_ALIASES}


def canonical_variant(name: str) -> str:
    """`name` under its current name (an old name, or an old mode inside MODE+LAYOUT, gives a note on stderr)."""
    head, plus, rest = name.partition("+")
    if head not in RENAMED:
        return name
    new = RENAMED[head] + plus + rest
    print(f"note: variant {name!r} is now called {new!r}; the old name goes in the next release", file=sys.stderr)
    return new


def check_names(names: Sequence[str]) -> None:
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown benchmark variant(s) {unknown} (known: {', '.join(VARIANTS)})")


def add_speedups(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each result's `speedup` over the reference protocol's seconds (None where either is missing)."""
    base = results.get("reference", {}).get("seconds")
    for result in results.values():
        result["speedup"] = round(base / result["seconds"], 3) if base and result.get("seconds") else None
    return results


def run_variants(
    source: EncoderSource, entries: Sequence[np.ndarray], names: Sequence[str], settings: dict[str, Settings]
) -> dict[str, dict[str, Any]]:
    """Run the named variants pre-tokenized (settings per variant name, or under "default"); `speedup` is over
    "reference"."""
    check_names(names)
    results = {}
    for name in names:
        s = settings.get(name, settings["default"])
        results[name] = VARIANTS[name](source, entries, s)
        if s.device.type == "cuda":
            torch.cuda.empty_cache()
    return add_speedups(results)
