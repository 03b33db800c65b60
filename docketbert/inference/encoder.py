"""Inference on exported models: embeddings for any export, and a fine-tuned head's logits.

    enc = Encoder.from_pretrained("runs/x/hf", device="cpu", mode="fp32", pooling="cls")
    vectors = enc.embed(["MOTION to dismiss ...", ...])        # (N, hidden) float32, input order
    logits = enc.head_logits(enc.tokenize(texts).ids)         # a *ForSequence/TokenClassification export

Decoded predictions (labels, spans) are the downstream layer's: `docketbert.downstream.predict.predict(enc, texts)`.

The fast path: one batched call of the fast (Rust, multi-threaded) tokenizer, entries sorted by length and cut into
token-budget batches (rows x longest row <= budget), results put back in input order.
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

from docketbert.core.batching import by_token_count, token_budget_batches
from docketbert.core.cpu_memory import keep_freed_memory
from docketbert.core.device import resolve_device
from docketbert.core.host_to_device import to_device
from docketbert.core.tokenizer import check_tokenizer_files
from docketbert.model.modernbert import classifier_logits, encoder_of
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
PACKED_WIDTH = 1024  # row width of the packed layout (longer entries get a row of their own length)


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


def pack_rows(lengths: Sequence[int], width: int) -> list[list[int]]:
    """Best-fit decreasing (docketbert.data.packing): rows of entry indices whose lengths sum to at most `width`."""
    from docketbert.data.packing import best_fit_decreasing

    return best_fit_decreasing(lengths, width)


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
        self._rows = 0  # packed layout: the most rows a batch has had (shapes never shrink, so compiles are few)
        if device.type == "cuda":  # the masks training uses on GPU (HF's empty mask rows gave NaN gradients there)
            from docketbert.model.packed_attention import install_padding_safe_masks

            install_padding_safe_masks(model)
        self._encoder = encoder_of(model)
        if layout == "unpadded":
            if mode in RUNTIME_MODES:
                raise ValueError(f"layout unpadded runs the torch model: not with {RUNTIME_MODES[mode]} modes")
            from docketbert.model.unpadded import UnpaddedEncoder

            self._unpadded = UnpaddedEncoder(self._encoder, compile=compile)  # compiles its own pieces
        elif compile:  # static shapes: packed rows of a fixed width, row count rounded up to a multiple of 8
            self._encoder = torch.compile(self._encoder, dynamic=False)
        self._openvino = None
        if mode in RUNTIME_MODES:  # embeddings and `head_logits` through the runtime's graph
            if device.type != "cpu" or layout != "padded" or compile:
                raise ValueError(f"mode {mode} runs on the CPU with padded batches, without compile")
            if runtime_cache is None:  # no folder of its own: a temporary one for this Encoder's life
                import tempfile

                self._runtime_tmp = tempfile.TemporaryDirectory(prefix=f"docketbert-{RUNTIME_MODES[mode]}-")
                runtime_cache = self._runtime_tmp.name
            from docketbert.inference.openvino_runtime import OpenVinoEncoder

            calibration, key = self._calibration_rows, None
            if calibration_rows is not None:
                rows = [list(map(int, r)) for r in calibration_rows]
                digest = hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:16]
                calibration, key = (lambda: rows), f"rows:{len(rows)}:{digest}"
            elif tokenizer is None and mode == "openvino_int8":
                raise ValueError("mode openvino_int8 without a tokenizer needs calibration_rows (token-id rows)")
            self._openvino = OpenVinoEncoder(
                self._encoder,
                runtime_cache,
                quantize=mode == "openvino_int8",
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
        return self._openvino

    def _padded(self, rows: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        from docketbert.core.batching import pad_rows

        ids, mask = pad_rows(rows, self.model.config.pad_token_id or 0)
        return to_device(ids, self.device), to_device(mask, self.device)

    def _pool(self, hidden: torch.Tensor, owner: torch.Tensor, first: torch.Tensor, n: int) -> torch.Tensor:
        """hidden (B, L, H); owner (B, L): the batch-local entry of each token (-1: none); first: (n,) flat index of
        each entry's first token. Returns (n, H) float32."""
        flat = hidden.reshape(-1, hidden.shape[-1]).float()
        if self.pooling == "cls":
            return flat[first]
        # padding (-1) is summed into an extra row n, dropped after: no boolean indexing, which would synchronize
        owner = torch.where(owner.reshape(-1) >= 0, owner.reshape(-1), n)
        sums = torch.zeros((n + 1, flat.shape[1]), dtype=flat.dtype, device=flat.device).index_add_(0, owner, flat)
        ones = torch.ones_like(owner, dtype=flat.dtype)
        counts = torch.zeros(n + 1, dtype=flat.dtype, device=flat.device).index_add_(0, owner, ones)
        return sums[:n] / counts[:n, None].clamp(min=1)

    def _embed_batch(self, rows: list[list[int]]) -> torch.Tensor:
        """(len(rows), H) pooled embeddings for one batch of token-id rows."""
        n = len(rows)
        if self.layout == "unpadded":
            return self._unpadded(rows, self.pooling).float()
        if self._openvino is not None:
            from docketbert.core.batching import pad_rows

            return torch.from_numpy(self._openvino(*pad_rows(rows, self.model.config.pad_token_id or 0), self.pooling))
        if self.layout == "padded":
            ids, mask = self._padded(rows)
            hidden = self.encoder(input_ids=ids, attention_mask=mask)[0]
            owner = torch.where(mask.bool(), torch.arange(n, device=self.device)[:, None], -1)
            first = torch.arange(n, device=self.device) * ids.shape[1]
            return self._pool(hidden, owner, first, n)
        from docketbert.model.packed_attention import encode_packed

        width = max(PACKED_WIDTH, max(len(r) for r in rows))
        packing = pack_rows([len(r) for r in rows], width)
        # Static shapes for the compiled kernels (flex_attention is compiled even when the model is not): row
        # counts are rounded up to a multiple of 8 and never shrink, so a run compiles one or two shapes.
        self._rows = max(self._rows, -(-len(packing) // 8) * 8)
        order = np.fromiter((i for members in packing for i in members), dtype=np.int64, count=n)
        lengths = np.fromiter((len(rows[i]) for i in order), dtype=np.int64, count=n)
        row_of = np.repeat(np.arange(len(packing)), [len(m) for m in packing])
        before = np.cumsum(lengths) - lengths  # tokens before each entry in packing order
        row_start = np.zeros(len(packing), dtype=np.int64)
        row_start[1:] = np.cumsum([sum(len(rows[i]) for i in m) for m in packing])[:-1]
        start = row_of * width + before - row_start[row_of]  # flat position of each entry's first token
        token_at = np.repeat(start - before, lengths) + np.arange(int(lengths.sum()))
        flat = np.fromiter((t for i in order for t in rows[i]), dtype=np.int64, count=int(lengths.sum()))
        ids = torch.full((self._rows * width,), self.model.config.pad_token_id or 0, dtype=torch.long)
        owner = torch.full((self._rows * width,), -1, dtype=torch.long)
        ids[token_at] = torch.from_numpy(flat)
        owner[token_at] = torch.from_numpy(np.repeat(order, lengths))
        ids, owner = ids.view(self._rows, width), owner.view(self._rows, width)
        first = torch.zeros(n, dtype=torch.long)
        first[torch.from_numpy(order)] = torch.from_numpy(start)
        owner = to_device(owner, self.device)  # entry ids are distinct, so they serve as segment ids (-1: padding)
        hidden = encode_packed(self.encoder, to_device(ids, self.device), owner)
        return self._pool(hidden, owner, to_device(first, self.device), n)

    def _batches(self, ids: list[list[int]]) -> list[list[int]]:
        budget = self.token_budget
        if self.layout == "packed":  # a batch is budget // width packed rows; count tokens, not rows x width
            return by_token_count([len(r) for r in ids], budget)
        return token_budget_batches([len(r) for r in ids], budget)

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
            for batch in self._batches(ids):
                out[to_device(torch.tensor(batch), self.device)] = self._embed_batch([ids[i] for i in batch])
        return out

    # ---- fine-tuned heads ----------------------------------------------------------------------------------------

    def head_logits(self, rows: Sequence[Sequence[int]]) -> torch.Tensor:
        """A fine-tuned head's float32 logits on the host for one batch of token-id rows ([CLS] ... [SEP], at most
        max_length tokens): (B, n_labels) for sequence heads, (B, longest, n_labels) for token heads (rows past
        their length hold padding). Through this Encoder's layout and mode: what
        `docketbert.downstream.predict.predict` decodes, and what `docketbert.evaluate --mode` scores."""
        return self._head_logits([list(r) for r in rows], self.head_level("head_logits") == "token")

    def head_level(self, caller: str = "head_logits") -> str:
        """ "token" for a token-classification head, "sequence" for a sequence one; without a fine-tuned head, a
        ValueError naming `caller`."""
        name = type(self.model).__name__
        if "ForTokenClassification" not in name and "ForSequenceClassification" not in name:
            archs = " ".join(self.model.config.architectures or [])
            raise ValueError(f"{caller} needs a fine-tuned head (architectures: {archs or 'none'}); use embed")
        return "token" if "ForTokenClassification" in name else "sequence"

    @torch.inference_mode()
    def _head_logits(self, rows: list[list[int]], token_level: bool) -> torch.Tensor:
        """float32 logits on the host: (B, n_labels) for sequence heads, (B, longest, n_labels) for token heads."""
        model = self.model
        if self._openvino is not None:  # the runtime's encoder, then the head's own modules
            from docketbert.core.batching import pad_rows

            ids, mask = pad_rows(rows, model.config.pad_token_id or 0)
            pooling = "none" if token_level else model.config.classifier_pooling
            return classifier_logits(model, torch.from_numpy(self._openvino(ids, mask, pooling))).float()
        if self.layout != "unpadded":
            ids, mask = self._padded(rows)
            return model(input_ids=ids, attention_mask=mask).logits.float().cpu()
        # transformers' ModernBertFor{Sequence,Token}Classification after the encoder: head, dropout, classifier
        if token_level:
            hidden = self._unpadded(rows, "none")
            return _split_rows(classifier_logits(model, hidden).float().cpu(), rows)
        pooled = self._unpadded(rows, model.config.classifier_pooling)
        return classifier_logits(model, pooled).float().cpu()


def _split_rows(flat: torch.Tensor, rows: Sequence[Sequence[int]]) -> torch.Tensor:
    """(T, C) per-token values of consecutive rows -> (B, longest, C), zero past each row's end."""
    out = flat.new_zeros((len(rows), max(len(r) for r in rows), flat.shape[-1]))
    start = 0
    for r, row in enumerate(rows):
        out[r, : len(row)] = flat[start : start + len(row)]
        start += len(row)
    return out
