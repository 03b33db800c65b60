"""Batch tokenization for data prep, inline or in worker processes.

Workers only import `tokenizers` and numpy (not transformers or torch), so spawning them is fast: the main
process loads the tokenizer with `docketbert.core.tokenizer.load_tokenizer` and hands its backend's JSON over.
"""

from __future__ import annotations

import os

import numpy as np
from tokenizers import Tokenizer


class ShardEncoder:
    """Encodes batches of texts as [CLS] ... [SEP], truncated to `max_seq_len` tokens."""

    def __init__(self, tokenizer_json: str, max_seq_len: int, dtype: str):
        self.tokenizer = Tokenizer.from_str(tokenizer_json)
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=max_seq_len)
        self.dtype = np.dtype(dtype)
        self.max_seq_len = max_seq_len

    def __call__(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, int]:
        """(all ids concatenated, per-text token counts, how many texts were truncated by tokens)."""
        encodings = self.tokenizer.encode_batch_fast(texts, add_special_tokens=True)
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(encodings))
        ids = np.fromiter((i for e in encodings for i in e.ids), dtype=self.dtype, count=int(lengths.sum()))
        # Only an encoding of exactly max_seq_len tokens can have been cut (reading .overflowing is not free).
        truncated = sum(1 for e in encodings if len(e.ids) >= self.max_seq_len and e.overflowing)
        return ids, lengths, truncated


_worker: ShardEncoder | None = None


def init_worker(tokenizer_json: str, max_seq_len: int, dtype: str) -> None:
    global _worker
    os.environ["TOKENIZERS_PARALLELISM"] = "false"  # the processes are the parallelism
    _worker = ShardEncoder(tokenizer_json, max_seq_len, dtype)


def encode_in_worker(texts: list[str]) -> tuple[np.ndarray, np.ndarray, int]:
    assert _worker is not None, "init_worker was not called"
    return _worker(texts)
