"""Inference on exported models: embeddings for any export, and a fine-tuned head's logits.

    enc = Encoder.from_pretrained("runs/x/hf", device="cpu", mode="fp32", pooling="cls")
    vectors = enc.embed(["MOTION to dismiss ...", ...])        # (N, hidden) float32, input order
    logits = enc.head_logits(enc.tokenize(texts).ids)         # a *ForSequence/TokenClassification export

Decoded predictions (labels, spans) are the downstream layer's: `docketbert.downstream.predict.predict(enc, texts)`.

The fast path: one batched call of the fast (Rust, multi-threaded) tokenizer, entries sorted by length and cut into
token-budget batches (rows x longest row <= budget), results put back in input order. Each batch goes through
the forward of the mode's runtime and the layout (`docketbert.inference.forwards`):
- layout "unpadded" (the CPU default): `docketbert.model.unpadded`, a lean forward over the same weights that runs
  every Linear layer, norm and activation on the batch's real tokens only, attention on the sorted batch padded to
  its longest entry, and the last layer on the [CLS] rows only when pooling is "cls"; `head_logits` runs a
  fine-tuned head's own modules after it. Not with the OpenVINO modes. With `compile=True` its
  per-layer pieces are compiled with dynamic shapes (off by default). It also runs on a GPU (opt-in there).
- layout "padded" (the GPU default): sorted batches padded to their longest entry, HF attention (sdpa); the
  padding left after sorting is small.
- layout "packed" (opt-in): several entries per row, each attending only to itself
  (`docketbert.model.packed_attention`: FlexAttention BlockMasks on GPU skip every cross-entry and padding block),
  no padding computed.
Modes: "fp32", "bf16" (weights in bf16; lossy), "int8" (dynamic int8 quantization of the Linear layers, CPU
only; lossy), and the runtime modes, CPU only, on padded length-sorted batches, their converted graphs cached beside
the weights and bound to them (`docketbert.inference.openvino_cache`: a stale or planted graph is rebuilt, never run):
- "openvino" / "openvino_int8": the encoder converted to OpenVINO, fp32 / NNCF int8 weights and activations
  (calibrated on synthetic docket entries), pooling inside the graph, cached in `<model_dir>/openvino/`
  (`docketbert.inference.openvino_runtime`); `head_logits` runs the graph, then the head's own torch modules.
  Their default batches shrink as the model widens (`openvino_budget`: 512 tokens for base-150M, 2,048 for
  scratch-7M).
Lossy modes are opt-in; their effect is bounded in tests.
On a GPU, `embed` tokenizes the next chunk of 16,384 entries in a worker thread while the model runs the current
one, and keeps results on the device until the end (no synchronization per batch).
Empty entries are encoded as [CLS][SEP] and counted; entries longer than `max_length` tokens keep their first
`max_length - 1` tokens plus the final [SEP], and are counted (`counts`).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from docketbert.core.cpu_memory import keep_freed_memory
from docketbert.core.device import resolve_device
from docketbert.core.host_to_device import to_device
from docketbert.core.tokenizer import check_tokenizer_files
from docketbert.inference.forwards import OpenVinoForward, PackedForward, PaddedForward, UnpaddedForward
from docketbert.model.modernbert import encoder_of
from docketbert.model.weights import check_safe_weights, load_pretrained

MODES = ("fp32", "bf16", "int8", "openvino", "openvino_int8")
CPU_MODES = ("int8", "openvino", "openvino_int8")  # modes that run on the CPU only
RUNTIME_MODES = {"openvino": "openvino", "openvino_int8": "openvino"}  # mode -> runtime (its cache folder's name)
POOLINGS = ("cls", "mean")
LAYOUTS = ("unpadded", "padded", "packed")
# Old names still accepted for one release, each with a note: the mode `exact` is now called `fp32`.
MODE_ALIASES = {"exact": "fp32"}


def canonical_mode(mode: str) -> str:
    """`mode` under its current name (an old name gives a note on stderr); unknown names pass through unchanged,
    for the caller's own check (argparse's `choices`, `Encoder`)."""
    if mode in MODE_ALIASES:
        print(
            f"note: mode {mode!r} is now called {MODE_ALIASES[mode]!r}; the old name goes in the next release",
            file=sys.stderr,
        )
        return MODE_ALIASES[mode]
    return mode


DEFAULT_BUDGET = {"cpu": 2048, "cuda": 65536}  # tokens per batch (rows x width)
# The OpenVINO modes' default budget shrinks as the model widens, keeping a batch's activations (tokens x hidden)
# near 512 x 768 floats: smaller batches never lost on base-150M, while scratch-7M, where the per-call cost weighs
# more, was mostly fastest at 2,048 (BENCHMARKS.md, "Fastest CPU mode").
OPENVINO_ACTIVATIONS = 512 * 768
OPENVINO_BUDGET_RANGE = (512, 2048)


def openvino_budget(hidden_size: int) -> int:
    """The OpenVINO modes' default tokens per batch for a model of `hidden_size`."""
    low, high = OPENVINO_BUDGET_RANGE
    return max(low, min(high, OPENVINO_ACTIVATIONS // hidden_size))


TOKENIZE_CHUNK = 16384  # entries per tokenization chunk when tokenization overlaps the model (`Encoder.embed`)


@dataclass
class Tokenized:
    ids: list[list[int]]
    offsets: list[list[tuple[int, int]]] | None
    empty: int
    truncated: int


@dataclass
class Counts:
    entries: int = 0
    empty: int = 0
    truncated: int = 0
    tokens: int = 0

    def add(self, other: Counts) -> None:
        for k in ("entries", "empty", "truncated", "tokens"):
            setattr(self, k, getattr(self, k) + getattr(other, k))


def apply_mode(model: torch.nn.Module, mode: str, device: torch.device) -> torch.nn.Module:
    """fp32: the model as it is; bf16: bf16 weights; int8: dynamic int8 Linear layers (CPU only); openvino and
    openvino_int8: the fp32 model, which `Encoder` converts for OpenVINO (CPU only)."""
    if mode in ("fp32", *RUNTIME_MODES):
        if mode != "fp32" and device.type != "cpu":
            raise ValueError(f"mode {mode} ({RUNTIME_MODES[mode]}) runs on the CPU only; use bf16 on a GPU")
        return model.float()
    if mode == "bf16":
        return model.to(torch.bfloat16)
    if mode == "int8":
        if device.type != "cpu":
            raise ValueError("mode int8 (dynamic quantization) runs on the CPU only; use bf16 on a GPU")
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.ao's deprecation notice (torchao is not a dependency)
            return torch.ao.quantization.quantize_dynamic(model.float(), {torch.nn.Linear}, dtype=torch.qint8)
    raise ValueError(f"unknown mode {mode!r}: one of {', '.join(MODES)}")


def default_layout(model_type: str, device: torch.device, mode: str) -> str:
    """unpadded for ModernBERT on the CPU (the lean forward; with compile its pieces are compiled); padded
    elsewhere, for other architectures, and for the OpenVINO modes."""
    lean = model_type == "modernbert" and device.type == "cpu" and mode not in RUNTIME_MODES
    return "unpadded" if lean else "padded"


class Encoder:
    """A loaded export with its tokenizer; see the module docstring."""

    def __init__(
        self,
        model: torch.nn.Module,
        tokenizer,
        device: torch.device,
        mode: str = "fp32",
        pooling: str = "cls",
        max_length: int | None = None,
        token_budget: int | None = None,
        layout: str | None = None,
        compile: bool = False,
        runtime_cache: str | Path | None = None,
        calibration_rows: Sequence[Sequence[int]] | None = None,
    ):
        """`calibration_rows`: token-id rows openvino_int8 is calibrated on instead of the tokenized synthetic
        entries (an Encoder without a tokenizer, fed token ids, needs them)."""
        mode = canonical_mode(mode)
        if pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {pooling!r}: one of {', '.join(POOLINGS)}")
        layout = layout or default_layout(model.config.model_type, device, mode)
        if layout not in LAYOUTS:
            raise ValueError(f"unknown layout {layout!r}: one of {', '.join(LAYOUTS)}")
        self.model, self.tokenizer, self.device = model, tokenizer, device
        self.mode, self.pooling, self.layout = mode, pooling, layout
        config = model.config
        limit = getattr(config, "max_position_embeddings", 8192)
        self.max_length = min(max_length or limit, limit)
        if token_budget is None and mode in RUNTIME_MODES:
            token_budget = openvino_budget(config.hidden_size)
        self.token_budget = token_budget or DEFAULT_BUDGET[device.type]
        self.counts = Counts()
        self.overlap_tokenization = device.type == "cuda"  # see `embed`
        self.tokenize_chunk = TOKENIZE_CHUNK
        if device.type == "cpu":
            keep_freed_memory()  # docketbert.core.cpu_memory: no page faults on memory every batch reuses
        self._rust_tokenizer = None  # see `_encode_ids`
        if device.type == "cuda":  # the masks training uses on GPU (HF's empty mask rows gave NaN gradients there)
            from docketbert.model.packed_attention import install_padding_safe_masks

            install_padding_safe_masks(model)
        self._encoder = encoder_of(model)
        if mode in RUNTIME_MODES:
            if layout == "unpadded":
                raise ValueError(f"layout unpadded runs the torch model: not with {RUNTIME_MODES[mode]} modes")
            if device.type != "cpu" or layout != "padded" or compile:
                raise ValueError(f"mode {mode} runs on the CPU with padded batches, without compile")
            runtime = self._runtime(runtime_cache, calibration_rows)
            self._forward = OpenVinoForward(model, self._encoder, device, runtime)
        elif layout == "unpadded":
            self._forward = UnpaddedForward(model, self._encoder, device, compile=compile)  # compiles its pieces
        else:
            if compile:  # static shapes: packed rows of a fixed width, row count rounded up to a multiple of 8
                self._encoder = torch.compile(self._encoder, dynamic=False)
            forward = PackedForward if layout == "packed" else PaddedForward
            self._forward = forward(model, self._encoder, device)

    def _runtime(self, cache: str | Path | None, calibration_rows: Sequence[Sequence[int]] | None):
        """The OpenVINO runtime of the mode, cached in `cache` (None: a temporary folder for this Encoder's life)."""
        from docketbert.inference.openvino_runtime import OpenVinoEncoder

        if cache is None:
            import tempfile

            self._runtime_tmp = tempfile.TemporaryDirectory(prefix=f"docketbert-{RUNTIME_MODES[self.mode]}-")
            cache = self._runtime_tmp.name
        calibration, key = self._calibration_rows, None
        if calibration_rows is not None:
            rows = [list(map(int, r)) for r in calibration_rows]
            digest = hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:16]
            calibration, key = (lambda: rows), f"rows:{len(rows)}:{digest}"
        elif self.tokenizer is None and self.mode == "openvino_int8":
            raise ValueError("mode openvino_int8 without a tokenizer needs calibration_rows (token-id rows)")
        return OpenVinoEncoder(
            self._encoder,
            cache,
            quantize=self.mode == "openvino_int8",
            calibration=calibration,
            **({"calibration_key": key} if key else {}),
        )

    def _calibration_rows(self) -> list[list[int]]:
        """Token-id rows of synthetic docket entries (docketbert.data.synthetic, seeded): what openvino_int8 is
        calibrated on."""
        import itertools

        from docketbert.data.synthetic.corpus import generate_entries
        from docketbert.inference.openvino_runtime import CALIBRATION_ENTRIES

        entries = itertools.islice(generate_entries(num_dockets=10 * CALIBRATION_ENTRIES, seed=0), CALIBRATION_ENTRIES)
        return self.tokenize([e["description"] for e in entries]).ids

    @classmethod
    def from_pretrained(
        cls,
        model_dir: str | Path,
        device: str | torch.device | None = "auto",
        mode: str = "fp32",
        pooling: str = "cls",
        max_length: int | None = None,
        token_budget: int | None = None,
        layout: str | None = None,
        attn_implementation: str | None = None,
        tokenizer: str | Path | None = None,
        compile: bool = False,
    ) -> Encoder:
        """Load `model_dir` (an HF export: config.json, safetensors weights, tokenizer files or `tokenizer=`; a
        pickle-format weights file or a tokenizer file that does not read is a one-line ValueError). A fine-tuned
        head (architectures *ForSequenceClassification / *ForTokenClassification) is loaded with its head, so
        `head_logits` works; any other export loads as the bare encoder."""
        from transformers import (
            AutoConfig,
            AutoModel,
            AutoModelForSequenceClassification,
            AutoModelForTokenClassification,
            AutoTokenizer,
        )

        model_dir = Path(model_dir)
        if not (model_dir / "config.json").exists():
            raise FileNotFoundError(f"{model_dir} has no config.json: not an exported model directory")
        mode = canonical_mode(mode)
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}: one of {', '.join(MODES)}")
        check_safe_weights(model_dir)
        check_tokenizer_files(tokenizer or model_dir)
        device = resolve_device(device)
        config = AutoConfig.from_pretrained(model_dir)
        if layout is None:
            layout = default_layout(config.model_type, device, mode)
        if attn_implementation is None:
            attn_implementation = "flex_attention" if (layout == "packed" and device.type == "cuda") else "sdpa"
        archs = " ".join(config.architectures or [])
        loader = AutoModel
        if "ForSequenceClassification" in archs:
            loader = AutoModelForSequenceClassification
        elif "ForTokenClassification" in archs:
            loader = AutoModelForTokenClassification
        model = load_pretrained(loader, model_dir, attn_implementation=attn_implementation)
        model = apply_mode(model.eval(), mode, device).to(device)
        tok = AutoTokenizer.from_pretrained(tokenizer or model_dir)
        if not tok.is_fast:
            raise ValueError(f"{tokenizer or model_dir}: a fast tokenizer (tokenizer.json) is needed")
        cache = None  # a runtime's graph is cached beside the weights when that folder is writable
        if mode in RUNTIME_MODES and os.access(model_dir, os.W_OK):
            cache = model_dir / RUNTIME_MODES[mode]
        return cls(model, tok, device, mode, pooling, max_length, token_budget, layout, compile, cache)

    # ---- tokenization ------------------------------------------------------------------------------------------

    def tokenize(self, texts: Sequence[str | None], offsets: bool = False) -> Tokenized:
        """One batched fast-tokenizer call (parallel in Rust); truncation keeps the final special token. Without
        offsets the Rust tokenizer is called directly (`encode_batch_fast`, no offsets computed, which is
        faster): the same ids as the transformers call."""
        clean = ["" if t is None else str(t) for t in texts]
        if offsets:
            enc = self.tokenizer(
                clean,
                add_special_tokens=True,
                truncation=True,
                max_length=self.max_length + 1,
                return_offsets_mapping=True,
                return_attention_mask=False,
                return_token_type_ids=False,
            )
            ids, offs = enc["input_ids"], enc["offset_mapping"]
        else:
            ids, offs = self._encode_ids(clean), None
        truncated = 0
        for i, row in enumerate(ids):
            if len(row) > self.max_length:
                truncated += 1
                ids[i] = row[: self.max_length - 1] + row[-1:]
                if offs is not None:
                    offs[i] = offs[i][: self.max_length - 1] + offs[i][-1:]
        empty = sum(1 for t in clean if not t.strip())
        return Tokenized(ids, offs, empty, truncated)

    def _encode_ids(self, texts: list[str]) -> list[list[int]]:
        """Token ids through a private copy of the Rust tokenizer, truncated as the transformers call above."""
        if self._rust_tokenizer is None:
            from tokenizers import Tokenizer

            rust = Tokenizer.from_str(self.tokenizer.backend_tokenizer.to_str())
            rust.no_padding()
            rust.enable_truncation(self.max_length + 1, direction=getattr(self.tokenizer, "truncation_side", "right"))
            self._rust_tokenizer = rust
        encode = getattr(self._rust_tokenizer, "encode_batch_fast", self._rust_tokenizer.encode_batch)
        return [e.ids for e in encode(texts, add_special_tokens=True)]

    # ---- forward -----------------------------------------------------------------------------------------------

    @property
    def encoder(self) -> torch.nn.Module:
        """The bare encoder (ModernBertModel) of the loaded model, head or not (compiled when asked)."""
        return self._encoder

    @property
    def openvino(self):
        """The OpenVINO runtime of an openvino mode (docketbert.inference.openvino_runtime.OpenVinoEncoder), else
        None."""
        return getattr(self._forward, "runtime", None)

    def embed(self, texts: Sequence[str | None]) -> np.ndarray:
        """(len(texts), hidden) float32 embeddings in input order (pooling "cls" or "mean" over all tokens of the
        entry, [CLS]/[SEP] included, as ModernBERT's classifier_pooling="mean").

        With `overlap_tokenization` (the default on a GPU) the texts go through in chunks of `tokenize_chunk`
        entries, and a worker thread tokenizes the next chunk while the model runs the current one (the Rust
        tokenizer releases the GIL); each chunk is sorted into batches on its own."""
        texts = list(texts)
        if not self.overlap_tokenization or len(texts) <= self.tokenize_chunk:
            tok = self.tokenize(texts)
            out = self.embed_ids(tok.ids)
            self.counts.add(Counts(len(texts), tok.empty, tok.truncated, sum(map(len, tok.ids))))
            return out
        from concurrent.futures import ThreadPoolExecutor

        size = self.tokenize_chunk
        parts = []
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="docketbert-tokenize") as pool:
            pending = pool.submit(self.tokenize, texts[:size])
            for start in range(0, len(texts), size):
                tok = pending.result()
                if start + size < len(texts):
                    pending = pool.submit(self.tokenize, texts[start + size : start + 2 * size])
                parts.append(self._embed_ids(tok.ids))  # on the device: no synchronization per chunk
                self.counts.add(Counts(len(tok.ids), tok.empty, tok.truncated, sum(map(len, tok.ids))))
        return torch.cat(parts).cpu().numpy()

    def embed_ids(self, ids: Sequence[Sequence[int]]) -> np.ndarray:
        """`embed` for rows already tokenized ([CLS] ... [SEP], at most max_length tokens each)."""
        return self._embed_ids(ids).cpu().numpy()

    def _embed_ids(self, ids: Sequence[Sequence[int]]) -> torch.Tensor:
        """(len(ids), hidden) float32 on the model's device, in input order. Results stay on the device until the
        caller copies them, so the host queues the next batch while the GPU runs this one."""
        ids = [r if isinstance(r, list) else list(r) for r in ids]  # lists already: no copy
        out = torch.empty((len(ids), self.model.config.hidden_size), dtype=torch.float32, device=self.device)
        with torch.inference_mode():
            for batch in self._forward.batches([len(r) for r in ids], self.token_budget):
                rows = [ids[i] for i in batch]
                out[to_device(torch.tensor(batch), self.device)] = self._forward.embed(rows, self.pooling)
        return out

    # ---- fine-tuned heads ----------------------------------------------------------------------------------------

    def head_logits(self, rows: Sequence[Sequence[int]]) -> torch.Tensor:
        """A fine-tuned head's float32 logits on the host for one batch of token-id rows ([CLS] ... [SEP], at most
        max_length tokens): (B, n_labels) for sequence heads, (B, longest, n_labels) for token heads (rows past
        their length hold padding). Through this Encoder's layout and mode: what
        `docketbert.downstream.predict.predict` decodes, and what `docketbert.evaluate --mode` scores."""
        token_level = self.head_level("head_logits") == "token"
        with torch.inference_mode():
            return self._forward.head_logits([list(r) for r in rows], token_level)

    def head_level(self, caller: str = "head_logits") -> str:
        """ "token" for a token-classification head, "sequence" for a sequence one; without a fine-tuned head, a
        ValueError naming `caller`."""
        name = type(self.model).__name__
        if "ForTokenClassification" not in name and "ForSequenceClassification" not in name:
            archs = " ".join(self.model.config.architectures or [])
            raise ValueError(f"{caller} needs a fine-tuned head (architectures: {archs or 'none'}); use embed")
        return "token" if "ForTokenClassification" in name else "sequence"
