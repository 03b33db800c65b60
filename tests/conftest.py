"""Shared fixtures: a tokenizer trained locally and MDS shards of the real corpus in ../shared/data.

Nothing is downloaded: tests train their own tokenizer and build tiny models from configs.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("DOCKETBERT_SHARED_DATA", REPO.parent / "shared" / "data"))
CORPUS = SHARED_DATA / "docket_entries.jsonl.gz"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not CORPUS.exists():
        pytest.skip(f"the real docket entries are not at {SHARED_DATA} (set DOCKETBERT_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tokenizer_dir(tmp_path_factory, shared_data) -> Path:
    """A 2048-token BPE tokenizer trained on the real corpus."""
    from docketbert.data.tokenizer_training import iter_texts, train_tokenizer

    out = tmp_path_factory.mktemp("tokenizer")
    train_tokenizer(iter_texts(shared_data / "docket_entries.jsonl.gz"), vocab_size=2048, output_dir=out)
    return out


@pytest.fixture(scope="session")
def mds_dir(tmp_path_factory, shared_data, tokenizer_dir) -> Path:
    """The real corpus as tokenized MDS shards: <dir>/train and <dir>/eval, split by case."""
    from docketbert.data.conversion import main as to_mds

    out = tmp_path_factory.mktemp("mds")
    rc = to_mds([
        "--input", str(shared_data / "docket_entries.jsonl.gz"), "--output", str(out),
        "--tokenizer", str(tokenizer_dir), "--docket-key", "case", "--eval-fraction", "0.1",
        "--max-seq-len", "256", "--workers", "1", "--no-progress",
    ])
    assert rc == 0
    return out
