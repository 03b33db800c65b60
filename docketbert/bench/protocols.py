"""The reference's inference protocols and what every benchmark variant shares: entries, batches, timing, the model
under test and the machine. Used by `python -m docketbert.bench` (docketbert/bench/inference.py), the variants
table (docketbert/bench/variants.py) and the `benchmark` callback.

Reference GPU protocol: N entries (tokenized before timing), shuffled batches padded per batch to a multiple of 8 (as
DataCollatorWithPadding), the encoder without head, bf16 autocast, inference mode, a sweep of batch sizes, the
best time; an OOM is recorded and the batch size skipped. Reference CPU protocol: the first 200 entries, batch 32,
eager attention, fp32. Batches are collated before the clock starts; the host-to-device copy, the forwards and a
final synchronize are timed, after one warm-up batch per batch size.

End to end (`end_to_end.py`), the same protocols start from the texts: tokenization is timed too.
"""

from __future__ import annotations

import json
import math
import os
import platform
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import transformers
from transformers import ModernBertConfig, ModernBertModel

from docketbert.core import cpu_memory
from docketbert.core.batching import pad_rows
from docketbert.core.device import synchronize
from docketbert.model.weights import load_pretrained

GPU_BATCH_SIZES = (8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096)
# The reference's corpus: entry lengths (with [CLS]/[SEP]) have mean 67.9, median 49, p99 319, max 768.
LENGTH_MEDIAN, LENGTH_MEAN, LENGTH_MAX = 49.0, 67.9, 768


class BenchError(ValueError):
    """A measurement the bench refuses, or cannot make here: printed as one line, exit 2."""


# ---- entries --------------------------------------------------------------------------------------------------


def synthetic_lengths(n: int, seed: int = 0) -> np.ndarray:
    """Lognormal lengths fitted to the reference's corpus (median 49, mean 67.9 -> p99 ~320), clipped to [3, 768]."""
    mu = math.log(LENGTH_MEDIAN)
    sigma = math.sqrt(2 * math.log(LENGTH_MEAN / LENGTH_MEDIAN))
    lengths = np.random.default_rng(seed).lognormal(mu, sigma, n)
    return np.clip(np.rint(lengths), 3, LENGTH_MAX).astype(np.int64)


def synthetic_entries(n: int, config: ModernBertConfig, seed: int = 0) -> list[np.ndarray]:
    """`[CLS] random non-special ids [SEP]` rows of synthetic lengths (never all zeros)."""
    rng = np.random.default_rng(seed + 1)
    special = {config.pad_token_id, config.cls_token_id, config.sep_token_id, 0}
    top = config.vocab_size - 128 if config.vocab_size > 1024 else config.vocab_size  # ModernBERT's tail is special
    entries = []
    for length in synthetic_lengths(n, seed):
        ids = rng.integers(5, top, int(length))
        ids = np.where(np.isin(ids, list(special)), 5, ids)
        ids[0], ids[-1] = config.cls_token_id, config.sep_token_id
        entries.append(ids)
    return entries


def mds_entries(path: str, split: str, n: int, local: str | None = None, max_len: int = LENGTH_MAX) -> list[np.ndarray]:
    """The first `n` entries of an MDS split (`input_ids`), repeated when the split is smaller, cut to `max_len`."""
    from docketbert.data.mds import open_split

    dataset = open_split(path, split, local)
    available = min(n, dataset.num_samples)
    if available == 0:
        raise ValueError(f"the MDS split {path}/{split} is empty")
    rows = [np.asarray(dataset[i]["input_ids"], dtype=np.int64)[:max_len] for i in range(available)]
    return [rows[i % available] for i in range(n)]


def read_texts(path: str, n: int) -> list[str]:
    """The first `n` entries of a text file (jsonl/csv/txt; repeated from the start when it holds fewer)."""
    from docketbert.data.readers import iter_rows

    texts = []
    for row in iter_rows(path, docket_column=None):
        texts.append(row.text or "")
        if len(texts) == n:
            break
    if not texts:
        raise ValueError(f"{path} holds no entries")
    return [texts[i % len(texts)] for i in range(n)]


# ---- batches and timing -----------------------------------------------------------------------------------------


def best_seconds(variants: dict[str, Callable[[], Any]], reps: int, warmup: bool = False) -> dict[str, float]:
    """Each variant's best time over `reps` rounds; within a round the variants take turns, so a slow moment of the
    machine hits them alike. `warmup`: call each once, untimed, first."""
    if warmup:
        for fn in variants.values():
            fn()
    best = {name: float("inf") for name in variants}
    for _ in range(reps):
        for name, fn in variants.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def report(result: dict, json_path: str | Path | None) -> dict:
    """Print `result` as one JSON line, also write it to `json_path` when given, and return it."""
    print(json.dumps(result))
    if json_path:
        Path(json_path).write_text(json.dumps(result, indent=2))
    return result


def collate(rows: Sequence[np.ndarray], pad_id: int, multiple: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad to the batch's longest row rounded up to `multiple` (DataCollatorWithPadding(pad_to_multiple_of=8))."""
    return pad_rows(rows, pad_id, multiple)


def make_batches(
    entries: Sequence[np.ndarray], batch_size: int, pad_id: int, order: str, seed: int = 0
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """`shuffled` (the reference's DataLoader(shuffle=True)) or `sorted` (by length, batches then shuffled)."""
    index = list(range(len(entries)))
    if order == "shuffled":
        random.Random(seed).shuffle(index)
    elif order == "sorted":
        index.sort(key=lambda i: len(entries[i]))
    else:
        raise ValueError(f"unknown batch order {order!r}")
    batches = [
        collate([entries[i] for i in index[s : s + batch_size]], pad_id) for s in range(0, len(index), batch_size)
    ]
    if order == "sorted":
        random.Random(seed).shuffle(batches)
    return batches


def time_batches(
    model: torch.nn.Module,
    batches: list[tuple[torch.Tensor, torch.Tensor]],
    device: torch.device,
    bf16: bool,
    deadline: float | None = None,
) -> float | None:
    """Seconds for one pass over `batches` (after a warm-up batch); None when `deadline` (time.perf_counter) passed."""
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)
    with torch.inference_mode(), autocast:
        ids, mask = max(batches, key=lambda b: b[0].numel())  # warm-up on the largest batch (allocator, kernels)
        model(input_ids=ids.to(device), attention_mask=mask.to(device))
        synchronize(device)
        start = time.perf_counter()
        for ids, mask in batches:
            model(input_ids=ids.to(device, non_blocking=True), attention_mask=mask.to(device, non_blocking=True))
            if deadline is not None and time.perf_counter() > deadline:
                synchronize(device)
                return None
        synchronize(device)
        return time.perf_counter() - start


def sweep(
    model: torch.nn.Module,
    entries: Sequence[np.ndarray],
    batch_sizes: Sequence[int],
    pad_id: int,
    order: str,
    device: torch.device,
    bf16: bool,
    budget_s: float | None = None,
) -> dict[str, Any]:
    """Time each batch size; an OOM (torch.OutOfMemoryError) is recorded and skipped, as is a batch size started
    after `budget_s` seconds of the sweep or cut off by it. The best time is over the sizes that finished."""
    started = time.perf_counter()
    deadline = started + budget_s if budget_s else None
    results: dict[str, dict[str, Any]] = {}
    for batch_size in batch_sizes:
        if deadline is not None and time.perf_counter() > deadline:
            results[str(batch_size)] = {"status": "skipped", "reason": f"sweep budget of {budget_s} s spent"}
            continue
        batches = make_batches(entries, batch_size, pad_id, order)
        try:
            seconds = time_batches(model, batches, device, bf16, deadline)
        except torch.OutOfMemoryError as err:
            results[str(batch_size)] = {"status": "oom", "error": str(err).split("\n")[0][:200]}
            seconds = "oom"
        if seconds == "oom":  # outside the except, so the traceback's tensors are already freed
            del batches
            if device.type == "cuda":
                torch.cuda.empty_cache()
            continue
        if seconds is None:
            results[str(batch_size)] = {"status": "skipped", "reason": f"cut off by the sweep budget of {budget_s} s"}
            continue
        padded = sum(b[0].numel() for b in batches)
        results[str(batch_size)] = {"status": "ok", "seconds": round(seconds, 4), "padded_tokens": padded}
    done = {int(bs): r for bs, r in results.items() if r["status"] == "ok"}
    real = int(sum(len(e) for e in entries))
    out: dict[str, Any] = {
        "order": order,
        "entries": len(entries),
        "real_tokens": real,
        "batch_sizes": results,
        "seconds": None,
        "best_batch_size": None,
        "entries_per_s": None,
    }
    if done:
        best = min(done, key=lambda bs: done[bs]["seconds"])
        seconds = done[best]["seconds"]
        out.update(
            seconds=seconds,
            best_batch_size=best,
            entries_per_s=round(len(entries) / seconds, 2),
            padding_fraction=round(1 - real / done[best]["padded_tokens"], 4),
        )
    return out


# ---- models and variants ----------------------------------------------------------------------------------------


@dataclass
class EncoderSource:
    """What to benchmark: a ModernBERT config and either a directory to load or a state dict (None: random
    weights, seeded). `encoder(attn)` builds a fresh encoder (no head) with the given attention implementation."""

    config: ModernBertConfig
    path: str | None = None
    state_dict: dict[str, torch.Tensor] | None = None
    name: str = ""

    def encoder(self, attn: str, device: torch.device) -> torch.nn.Module:
        if self.path is not None:
            from transformers import AutoModel

            model = load_pretrained(AutoModel, self.path, attn_implementation=attn)
        else:
            config = ModernBertConfig.from_dict(self.config.to_dict())
            config._attn_implementation = attn
            torch.manual_seed(0)
            model = ModernBertModel(config)
            if self.state_dict is not None:
                model.load_state_dict(self.state_dict)
        return model.to(device).eval()


@dataclass
class Settings:
    device: torch.device
    batch_sizes: Sequence[int]
    budget_s: float | None = None
    # The attention the reference's GPU protocol used (flash_attention_2 where installed, else sdpa).
    gpu_attn: str = "sdpa"
    extra: dict[str, Any] = field(default_factory=dict)


# ---- the machine ---------------------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    gpu = torch.cuda.is_available()
    return {
        "gpu_name": torch.cuda.get_device_name() if gpu else None,
        "gpu_count": torch.cuda.device_count() if gpu else 0,
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "torch_threads": torch.get_num_threads(),
        "torch": str(torch.__version__),
        "transformers": transformers.__version__,
        "cuda": torch.version.cuda,
        "python": platform.python_version(),
        "malloc_tuned": cpu_memory.tuned(),
    }
