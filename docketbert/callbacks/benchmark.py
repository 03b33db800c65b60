"""`callbacks: {benchmark: {...}}`: at the end of fit, time the trained encoder with the inference benchmark's
variants (pre-tokenized; names and protocols of docketbert/bench/variants.py, default: the reference protocol only) and
write `<run_dir>/bench.json`.

It benchmarks the in-memory model (a copy of its encoder, so the export and the metrics are untouched) on the
entries of the eval split, on rank 0 only. In a multi-GPU run the other ranks do not wait for it; keep it short
there, or run `python -m docketbert.bench <run_dir>/hf --data <mds>` afterwards.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from composer.core import Callback, State
from composer.loggers import Logger
from composer.utils import dist

from docketbert.bench import protocols
from docketbert.bench.variants import VARIANTS, canonical_variant, run_variants
from docketbert.model.modernbert import encoder_of
from docketbert.registry import register_callback

log = logging.getLogger(__name__)


def split_entries(state: State, cfg: Any, n: int) -> tuple[list[np.ndarray], dict[str, Any]]:
    """The first `n` entries of the eval split (repeated when it is smaller), read through the evaluator's own
    StreamingDataset when there is one (streaming refuses a second dataset on the same local folder)."""
    split = cfg.data.eval_split or cfg.data.train_split
    dataset = None
    for evaluator in state.evaluators:
        candidate = getattr(getattr(evaluator.dataloader, "dataloader", None), "dataset", None)
        if candidate is not None and hasattr(candidate, "num_samples"):
            dataset = candidate
            break
    if dataset is None:
        from docketbert.data.mds import open_split

        dataset = open_split(cfg.data.path, split, cfg.data.local)
    available = min(n, dataset.num_samples)
    rows = [np.asarray(dataset[i]["input_ids"], dtype=np.int64)[: protocols.LENGTH_MAX] for i in range(available)]
    entries = [rows[i % available] for i in range(n)]
    return entries, {"path": str(cfg.data.path), "split": split, "split_entries": int(dataset.num_samples)}


@register_callback("benchmark")
class Benchmark(Callback):
    """`callbacks: {benchmark: {...}}`; `enabled: false` keeps the options in the YAML and measures nothing."""

    def __init__(
        self,
        run_dir: Path,
        cfg: Any = None,
        enabled: bool = True,
        gpu_entries: int = 100_000,
        gpu_batch_sizes: Sequence[int] = protocols.GPU_BATCH_SIZES,
        cpu_entries: int = 200,
        cpu_batch_size: int = 32,
        cpu: bool = True,
        gpu: bool = True,
        variants: Sequence[str] = ("reference",),
        gpu_budget_s: float | None = None,
    ):
        variants = [canonical_variant(v) for v in variants]
        unknown = [v for v in variants if v not in VARIANTS]
        if unknown:
            raise ValueError(f"callbacks.benchmark.variants: unknown {unknown} (known: {', '.join(VARIANTS)})")
        self.run_dir, self.cfg = Path(run_dir), cfg
        self.gpu_entries, self.gpu_batch_sizes = int(gpu_entries), [int(b) for b in gpu_batch_sizes]
        self.cpu_entries, self.cpu_batch_size = int(cpu_entries), int(cpu_batch_size)
        self.cpu, self.gpu, self.variants, self.gpu_budget_s = cpu, gpu, list(variants), gpu_budget_s
        self.enabled = bool(enabled)

    def fit_end(self, state: State, logger: Logger) -> None:
        if not self.enabled or dist.get_global_rank() != 0:
            return
        composer_model = state.model.module if hasattr(state.model, "module") else state.model
        hf_model = composer_model.model
        encoder = encoder_of(hf_model)  # ModernBertModel: no head, as AutoModel loads it
        source = protocols.EncoderSource(
            config=hf_model.config,
            name=str(self.run_dir.name),
            state_dict={k: v.detach().to("cpu", copy=True) for k, v in encoder.state_dict().items()},
        )
        report: dict[str, Any] = {
            "run_name": self.run_dir.name,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "machine": protocols.machine_info(),
            "attn_implementation": hf_model.config._attn_implementation,
            "num_params_encoder": sum(p.numel() for p in encoder.parameters()),
            "variants": self.variants,
            "source": "the in-memory model at FIT_END (encoder only)",
        }
        report["gpu"] = self._gpu(state, source)
        report["cpu"] = self._cpu(state, source)
        for part in ("gpu", "cpu"):
            seed = report[part].get("results", {}).get("reference", {})
            report[f"{part}_seconds"] = seed.get("seconds")
            report[f"{part}_entries"] = report[part].get("entries")
        (self.run_dir / "bench.json").write_text(json.dumps(report, indent=2))
        logger.log_metrics(self._metrics(report))
        log.info(
            "benchmark written to %s (gpu %s s, cpu %s s)",
            self.run_dir / "bench.json",
            report["gpu_seconds"],
            report["cpu_seconds"],
        )

    def _gpu(self, state: State, source: protocols.EncoderSource) -> dict[str, Any]:
        if not self.gpu:
            return {"skipped": "disabled (callbacks.benchmark.gpu=false)"}
        if not torch.cuda.is_available():
            return {"skipped": "no GPU on this machine"}
        entries, data = split_entries(state, self.cfg, self.gpu_entries)
        settings = protocols.Settings(
            torch.device("cuda"), self.gpu_batch_sizes, self.gpu_budget_s, gpu_attn=self._gpu_attn()
        )
        results = run_variants(source, entries, self.variants, {"default": settings})
        return {"entries": len(entries), "data": data, "batch_sizes": self.gpu_batch_sizes, "results": results}

    def _cpu(self, state: State, source: protocols.EncoderSource) -> dict[str, Any]:
        if not self.cpu:
            return {"skipped": "disabled (callbacks.benchmark.cpu=false)"}
        entries, data = split_entries(state, self.cfg, self.cpu_entries)
        settings = protocols.Settings(torch.device("cpu"), [self.cpu_batch_size])
        results = run_variants(source, entries, self.variants, {"default": settings})
        return {"entries": len(entries), "data": data, "batch_sizes": [self.cpu_batch_size], "results": results}

    def _gpu_attn(self) -> str:
        from docketbert.model.build import resolve_attn_implementation

        return resolve_attn_implementation("auto", on_gpu=True)

    @staticmethod
    def _metrics(report: dict[str, Any]) -> dict[str, float]:
        metrics = {}
        for part in ("gpu", "cpu"):
            for name, result in report[part].get("results", {}).items():
                if result.get("seconds") is not None:
                    metrics[f"bench/{part}/{name}/seconds"] = float(result["seconds"])
                    metrics[f"bench/{part}/{name}/entries_per_s"] = float(result["entries_per_s"])
                for bs, r in result.get("batch_sizes", {}).items():  # the protocol variants' sweeps
                    if r["status"] == "ok":
                        metrics[f"bench/{part}/{name}/bs{bs}_seconds"] = float(r["seconds"])
        return metrics
