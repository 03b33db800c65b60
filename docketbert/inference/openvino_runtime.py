"""OpenVINO for CPU inference: a ModernBertModel encoder converted to an OpenVINO graph (fp32, or int8 through NNCF),
compiled for the CPU and run on the length-sorted, padded batches of `docketbert.inference.encoder.Encoder`.

The converted graph is the encoder's forward written for conversion (`PooledForward`): the weights of the
transformers model, attention through one scaled-dot-product op per layer with finite additive masks (key padding,
and ModernBERT's window |i - j| <= sliding_window on local layers), so padding rows stay finite, and the pooling in
the graph: "cls" (the last layer runs its attention output and MLP on the [CLS] rows only), "mean" (over the
entry's tokens), or "none" (every token's hidden state, for token heads). Batch size and length are dynamic. The
rotary embedding is written in the form the CPU plugin fuses into one RoPE kernel per query and key (`_rotary`).

Modes:
- "openvino": fp32 (inference precision f32, so results equal the torch forward);
- "openvino_int8": NNCF post-training quantization of weights and activations of the MatMuls (transformer
  preset, SmoothQuant), calibrated on `CALIBRATION_ENTRIES` synthetic docket entries (docketbert.data.synthetic,
  deterministic) tokenized with the model's tokenizer; int8 matrix multiplies use the CPU's VNNI instructions.

Graphs are cached beside the model in `<model_dir>/openvino/` (or any folder), one entry per mode and pooling, bound
to the weights by docketbert.inference.openvino_cache (a stale or planted graph is rebuilt, never served).

    from docketbert.inference.openvino_runtime import OpenVinoEncoder
    ov_encoder = OpenVinoEncoder(hf_encoder, cache_dir, quantize=True, calibration=rows_fn)
    pooled = ov_encoder(input_ids, attention_mask, "cls")             # numpy (B, hidden) float32
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from docketbert.inference.openvino_cache import cache_key, cache_valid, clear_entry, write_record

log = logging.getLogger(__name__)

POOLINGS = ("cls", "mean", "none")

CALIBRATION_ENTRIES = 300  # synthetic entries the int8 graph is calibrated on
CALIBRATION_BUDGET = 4096  # tokens per calibration batch (rows x longest)
MASKED = -1e30  # additive mask of a key a query may not see: finite, so a row of padding stays finite


@functools.cache
def openvino_core():
    """The process's one openvino.Core, kept for the life of the process.

    Each Core's CPU plugin maps an alternate signal stack for the main thread when it first compiles, saving the one
    it replaces, and on destruction unmaps its own and puts the saved one back only if its own is still current.
    Two Cores destroyed in the order they were made therefore leave the main thread's alternate stack pointing at
    unmapped memory, and the next signal caught by a Python handler (SA_ONSTACK: torch's loader SIGCHLD handler,
    a SIGALRM time box) kills the process with SIGSEGV, often at interpreter teardown. One Core for every encoder
    never makes that pair (tests/inference/test_openvino_core.py shows both)."""
    import openvino as ov

    return ov.Core()


def _rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x * cos + rotate_half(x) * sin on (B, heads, L, head_dim), in the form OpenVINO's RoPE fusion matches
    (RoPEFusionGPTNEOX: a split on axis 3, a Multiply by -1.0, a Concat, rank-4 cos and sin), so the CPU plugin runs
    one fused RoPE kernel instead of reference split, negate and concat kernels. `-x2` would not match: the torch
    frontend converts aten::neg to another form."""
    half = x.shape[-1] // 2
    x1, x2 = x.split([half, half], dim=3)
    return x * cos + torch.cat((x2 * -1.0, x1), dim=-1) * sin


class PooledForward(torch.nn.Module):
    """(input_ids, attention_mask), (B, L) int64 -> pooled (B, hidden) for "cls" / "mean", or (B, L, hidden) for
    "none": transformers' ModernBertModel forward (eval, fp32) on the encoder's own modules, written for conversion
    (no Python branch on shapes or values)."""

    def __init__(self, encoder: torch.nn.Module, pooling: str):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {pooling!r}: one of {', '.join(POOLINGS)}")
        self.encoder, self.pooling = encoder, pooling
        config = encoder.config
        self.heads = config.num_attention_heads
        self.head_dim = config.hidden_size // self.heads
        self.window = config.sliding_window
        self.layer_types = list(config.layer_types)
        rotary = encoder.rotary_emb
        self.rotary = {
            t: (getattr(rotary, f"{t}_inv_freq"), getattr(rotary, f"{t}_attention_scaling", 1.0))
            for t in set(self.layer_types)
        }

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        enc = self.encoder
        hidden = enc.embeddings.norm(enc.embeddings.tok_embeddings(input_ids))  # (B, L, H)
        positions = torch.cumsum(torch.ones_like(input_ids[0]), 0) - 1  # (L,)
        keys = attention_mask.bool()[:, None, None, :]  # (B, 1, 1, L)
        band = (positions[:, None] - positions[None, :]).abs() <= self.window  # (L, L)
        zero = torch.zeros((), dtype=hidden.dtype)
        masked = torch.full((), MASKED, dtype=hidden.dtype)
        masks = {
            "full_attention": torch.where(keys, zero, masked),
            "sliding_attention": torch.where(keys & band[None, None], zero, masked),
        }
        tables = {}
        for layer_type, (inv_freq, scaling) in self.rotary.items():
            freqs = positions.float()[:, None] * inv_freq.float()[None, :]
            emb = torch.cat((freqs, freqs), dim=-1)
            tables[layer_type] = (emb.cos()[None, None] * scaling, emb.sin()[None, None] * scaling)  # (1, 1, L, D)
        last = len(enc.layers) - 1
        for index, layer in enumerate(enc.layers):
            layer_type = self.layer_types[index]
            cos, sin = tables[layer_type]
            qkv = layer.attn.Wqkv(layer.attn_norm(hidden)).unflatten(-1, (3, self.heads, self.head_dim))
            q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # (B, heads, L, head_dim)
            q, k = _rotary(q, cos, sin), _rotary(k, cos, sin)
            mask = masks[layer_type]
            if index == last and self.pooling == "cls":  # only the [CLS] queries matter from here on
                q, mask, hidden = q[:, :, :1], mask[:, :, :1], hidden[:, :1]
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
            hidden = hidden + layer.attn.Wo(out.transpose(1, 2).flatten(2))
            hidden = hidden + layer.mlp(layer.mlp_norm(hidden))
        hidden = enc.final_norm(hidden)
        if self.pooling == "cls":
            return hidden[:, 0]
        if self.pooling == "mean":
            weights = attention_mask.to(hidden.dtype)[:, :, None]
            return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1)
        return hidden


def convert(encoder: torch.nn.Module, pooling: str):
    """The OpenVINO model (openvino.Model) of `PooledForward(encoder, pooling)` with dynamic batch and length."""
    import openvino as ov

    module = PooledForward(encoder.float().eval(), pooling).eval()
    ids = torch.full((2, 24), 5, dtype=torch.long)
    mask = torch.ones((2, 24), dtype=torch.long)
    mask[1, 10:] = 0  # padding in the example, so nothing is specialised to a batch without it
    dynamic = [
        ("input_ids", ov.PartialShape([-1, -1]), ov.Type.i64),
        ("attention_mask", ov.PartialShape([-1, -1]), ov.Type.i64),
    ]
    import warnings

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the tracer's notes on Python values
        return ov.convert_model(module, example_input={"input_ids": ids, "attention_mask": mask}, input=dynamic)


def quantize(model, batches: Sequence[dict[str, np.ndarray]]):
    """NNCF post-training int8 quantization (weights and activations; transformer preset) calibrated on `batches`."""
    import nncf

    nncf_log = logging.getLogger("nncf")
    level = nncf_log.level
    nncf_log.setLevel(logging.ERROR)
    try:
        return nncf.quantize(
            model,
            nncf.Dataset(list(batches)),
            model_type=nncf.ModelType.TRANSFORMER,
            subset_size=len(batches),
        )
    finally:
        nncf_log.setLevel(level)


def calibration_batches(rows: Sequence[Sequence[int]], pad_id: int) -> list[dict[str, np.ndarray]]:
    """Length-sorted, padded calibration batches of at most CALIBRATION_BUDGET tokens."""
    from docketbert.core.batching import pad_rows, token_budget_batches

    out = []
    for batch in token_budget_batches([len(r) for r in rows], CALIBRATION_BUDGET):
        ids, mask = pad_rows([rows[i] for i in batch], pad_id)
        out.append({"input_ids": ids.numpy(), "attention_mask": mask.numpy()})
    return out


def kernel_count(compiled, kind: str) -> int:
    """How many nodes of `kind` (the plugin's layer type, e.g. "RoPE", "FullyConnected") a compiled model
    (openvino.CompiledModel) runs: what its transformations fused the graph into."""
    return sum(op.get_rt_info()["layerType"].astype(str) == kind for op in compiled.get_runtime_model().get_ops())


def compile_options(threads: int) -> dict[str, str]:
    """CPU plugin settings: `threads` inference threads, one stream, latency hint, fp32 precision for non-int8 ops."""
    return {
        "INFERENCE_NUM_THREADS": str(threads),
        "NUM_STREAMS": "1",
        "PERFORMANCE_HINT": "LATENCY",
        "INFERENCE_PRECISION_HINT": "f32",
    }


class OpenVinoEncoder:
    """Compiled OpenVINO graphs of one encoder, one per pooling, converted (and for int8 quantized) on first use or
    read from `cache_dir`. Call with padded numpy or torch (input_ids, attention_mask) and a pooling."""

    def __init__(
        self,
        encoder: torch.nn.Module,
        cache_dir: str | Path,
        quantize: bool = False,
        calibration: Callable[[], Sequence[Sequence[int]]] | None = None,
        threads: int | None = None,
        calibration_key: str = f"synthetic:{CALIBRATION_ENTRIES}",
    ):
        import openvino as ov

        if quantize and calibration is None:
            raise ValueError("openvino_int8 needs calibration rows (a callable returning token-id rows)")
        self.encoder, self.cache_dir = encoder.float().eval(), Path(cache_dir)
        self.quantize, self.calibration = quantize, calibration
        self.threads = threads or torch.get_num_threads()
        self.mode = "openvino_int8" if quantize else "openvino"
        self.core = openvino_core()
        self.options = compile_options(self.threads)
        self.profile: dict[tuple[str, str], list[float]] | None = None  # see `start_profiling`
        self._key_parts = {"mode": self.mode, "openvino": ov.__version__}
        if quantize:
            import nncf

            self._key_parts.update(nncf=nncf.__version__, calibration=calibration_key)
        self._key: str | None = None  # computed once (hashing the weights), on first use
        self._requests: dict[str, object] = {}

    def _entry(self, pooling: str) -> str:
        return f"{pooling}-int8" if self.quantize else pooling

    def _load(self, pooling: str):
        """A compiled model's infer request for `pooling`, from the cache when it is valid, else built."""
        import openvino as ov

        if self._key is None:
            self._key = cache_key(self.encoder, **self._key_parts)
        name = self._entry(pooling)
        files = [f"{name}.xml", f"{name}.bin"]
        key = f"{self._key}:{pooling}"
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        if not cache_valid(self.cache_dir, name, key):
            clear_entry(self.cache_dir, name, files)
            log.info("converting the encoder to OpenVINO %s (once, cached in %s)", name, self.cache_dir)
            model = convert(self.encoder, pooling)
            if self.quantize:
                pad_id = self.encoder.config.pad_token_id or 0
                model = quantize(model, calibration_batches(list(self.calibration()), pad_id))
            tmp = self.cache_dir / f"{name}.{os.getpid()}.tmp.xml"
            ov.save_model(model, tmp, compress_to_fp16=False)
            os.replace(tmp, self.cache_dir / files[0])
            os.replace(tmp.with_suffix(".bin"), self.cache_dir / files[1])
            write_record(self.cache_dir, name, key, files)
        compiled = self.core.compile_model(self.cache_dir / files[0], "CPU", self.options)
        return compiled.create_infer_request()

    def start_profiling(self) -> None:
        """Recompile with OpenVINO's per-op counters (PERF_COUNT) and from here on sum, per (op type, kernel), the
        microseconds and calls of every inference into `profile`."""
        self.options["PERF_COUNT"] = "YES"
        self._requests.clear()
        self.profile = {}

    def profile_table(self, top: int = 15) -> list[dict[str, object]]:
        """The summed counters, largest first: op type, kernel (exec type), milliseconds, calls."""
        rows = sorted((self.profile or {}).items(), key=lambda kv: -kv[1][0])
        return [
            {"op": op, "kernel": kernel, "ms": round(us / 1000, 2), "calls": int(calls)}
            for (op, kernel), (us, calls) in rows[:top]
        ]

    def request(self, pooling: str):
        """The infer request of `pooling`."""
        if pooling not in self._requests:
            self._requests[pooling] = self._load(pooling)
        return self._requests[pooling]

    def __call__(self, input_ids, attention_mask, pooling: str) -> np.ndarray:
        """(B, hidden) pooled, or (B, L, hidden) for "none"; float32, a fresh array."""
        feeds = {
            "input_ids": np.asarray(input_ids, dtype=np.int64),
            "attention_mask": np.asarray(attention_mask, dtype=np.int64),
        }
        request = self.request(pooling)
        request.infer(feeds)
        if self.profile is not None:
            for info in request.profiling_info:
                if info.status == info.Status.EXECUTED:
                    totals = self.profile.setdefault((info.node_type, info.exec_type), [0.0, 0])
                    totals[0] += info.real_time.total_seconds() * 1e6
                    totals[1] += 1
        return request.get_output_tensor(0).data.copy()
