"""ONNX Runtime for CPU inference: export a ModernBertModel encoder to ONNX, optionally quantize it to int8, and run
it as a drop-in for the encoder of `docketbert.inference.encoder.Encoder` (padded, length-sorted batches).

The export (torch.onnx, dynamo) is slow for large models, so it is cached: next to a model directory in
`<model_dir>/onnx/`, or in any folder given, bound to the weights by docketbert.inference.model_cache (a stale or
planted graph is rebuilt, never served). BENCHMARKS.md compares it with torch's own int8 path.

    from docketbert.inference.onnx_runtime import OnnxEncoder
    encoder = OnnxEncoder.for_model(hf_encoder, cache_dir, quantize=True)
    hidden = encoder(input_ids=ids, attention_mask=mask)[0]        # as ModernBertModel's output
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

import numpy as np
import torch

from docketbert.inference.model_cache import cache_key, cache_valid, clear_entry, write_record

log = logging.getLogger(__name__)


class _LastHidden(torch.nn.Module):
    """(input_ids, attention_mask) -> last hidden state: the graph that is exported."""

    def __init__(self, encoder: torch.nn.Module):
        super().__init__()
        self.encoder = encoder

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.encoder(input_ids=input_ids, attention_mask=attention_mask)[0]


def export_onnx(encoder: torch.nn.Module, path: str | Path) -> Path:
    """Export a ModernBertModel (fp32) with dynamic batch and length; written atomically to `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    module = _LastHidden(encoder.float().eval())
    example = (torch.full((2, 16), 5, dtype=torch.long), torch.ones((2, 16), dtype=torch.long))
    batch, length = torch.export.Dim("batch"), torch.export.Dim("length", max=8192)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            example,
            str(tmp),
            dynamo=True,
            external_data=False,
            verbose=False,
            dynamic_shapes=({0: batch, 1: length}, {0: batch, 1: length}),
            input_names=["input_ids", "attention_mask"],
            output_names=["last_hidden_state"],
        )
    os.replace(tmp, path)
    return path


def quantize_onnx(source: str | Path, target: str | Path) -> Path:
    """Dynamic int8 quantization of the MatMul weights (activations quantized per batch at run time)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target = Path(target)
    tmp = target.with_name(target.name + f".{os.getpid()}.tmp")
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # quantize_dynamic logs advice on the root logger for every model
    try:
        quantize_dynamic(str(source), str(tmp), weight_type=QuantType.QInt8)
    finally:
        root.setLevel(level)
    os.replace(tmp, target)
    return target


class OnnxEncoder:
    """An ONNX Runtime session with the calling convention of ModernBertModel (keyword input_ids and attention_mask,
    returns a tuple whose first item is the last hidden state as a torch tensor)."""

    def __init__(self, path: str | Path, threads: int | None = None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        self.path = Path(path)
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    @classmethod
    def for_model(
        cls, encoder: torch.nn.Module, cache_dir: str | Path, quantize: bool, threads: int | None = None
    ) -> OnnxEncoder:
        """Export `encoder` into `cache_dir` (once: the files there are reused while they hold a graph of these
        weights, as recorded by docketbert.inference.model_cache) and open it."""
        import onnxruntime

        cache_dir = Path(cache_dir)
        cache_dir.mkdir(parents=True, exist_ok=True)
        key = cache_key(encoder, export="torch.onnx dynamo", onnxruntime=onnxruntime.__version__)
        fp32 = cache_dir / "encoder.onnx"
        if not cache_valid(cache_dir, "encoder", key):
            clear_entry(cache_dir, "encoder", [fp32.name])
            clear_entry(cache_dir, "encoder.int8", ["encoder.int8.onnx"])  # quantized from the graph replaced
            log.info("exporting the encoder to ONNX (once, cached in %s)", cache_dir)
            export_onnx(encoder, fp32)
            write_record(cache_dir, "encoder", key, [fp32.name])
        path = fp32
        if quantize:
            path = cache_dir / "encoder.int8.onnx"
            if not cache_valid(cache_dir, "encoder.int8", key):
                clear_entry(cache_dir, "encoder.int8", [path.name])
                quantize_onnx(fp32, path)
                write_record(cache_dir, "encoder.int8", key, [path.name])
        return cls(path, threads)

    def __call__(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **_) -> tuple[torch.Tensor]:
        feeds = {
            "input_ids": input_ids.cpu().numpy().astype(np.int64),
            "attention_mask": attention_mask.cpu().numpy().astype(np.int64),
        }
        return (torch.from_numpy(self.session.run(None, feeds)[0]),)
