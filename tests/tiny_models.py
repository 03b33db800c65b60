"""Helpers shared by tests: tiny ModernBERTs saved as HF directories (and copies with planted pickle weights), run
overrides, and the to_mds arguments the shared MDS fixture is built with."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from transformers import ModernBertForMaskedLM

from docketbert.core.tokenizer import load_tokenizer
from docketbert.model.build import build_mlm_model

REPO = Path(__file__).resolve().parents[1]


def to_mds_args(corpus: Path, out: Path, tokenizer_dir: Path, workers: int = 1) -> list[str]:
    """`data_prep/to_mds.py` arguments for the test corpus: split by case, 10% eval, 256 tokens, no progress bar."""
    paths = ["--input", str(corpus), "--output", str(out), "--tokenizer", str(tokenizer_dir)]
    options = ["--docket-key", "case", "--eval-fraction", "0.1", "--max-seq-len", "256", "--no-progress"]
    return [*paths, *options, "--workers", str(workers)]


YAMLS = REPO / "yamls"
TINY_SHAPE = {"hidden_size": 32, "num_attention_heads": 2, "intermediate_size": 64, "max_position_embeddings": 512}
# A tiny ModernBERT whose local window (local_attention 8: |i - j| <= 4) entries of a few dozen tokens cross;
# layers 0 and 3 global, 1 and 2 local. The attention tests hold packed, varlen and padded forwards against it.
WINDOWED_CONFIG = dict(
    vocab_size=128,
    hidden_size=32,
    num_hidden_layers=4,
    num_attention_heads=2,
    intermediate_size=48,
    global_attn_every_n_layers=3,
    local_attention=8,
    pad_token_id=0,
)


def save_tiny_model(
    out: Path, tokenizer_dir: Path, num_layers: int, seed: int = 0, with_tokenizer: bool = True, **config
) -> Path:
    """A random tiny ModernBertForMaskedLM (global attention every 3rd layer, as ModernBERT) saved to `out`."""
    import torch

    torch.manual_seed(seed)
    tokenizer = load_tokenizer(str(tokenizer_dir))
    model = build_mlm_model(
        None,
        {**TINY_SHAPE, "num_hidden_layers": num_layers, "global_attn_every_n_layers": 3, **config},
        tokenizer,
        "sdpa",
    )
    model.save_pretrained(out)
    if with_tokenizer:
        tokenizer.save_pretrained(out)
    return out


def tiny_overrides(mds_dir, tokenizer_dir, run_root, **extra) -> list[str]:
    """Shrink any seed YAML to a few CPU batches on the test corpus (micro-batch 4 of 8: gradient accumulation)."""
    values = {
        "tokenizer": tokenizer_dir,
        "data.path": mds_dir,
        "run_root": run_root,
        "loggers.progress_bar": False,
        "data.max_seq_len": 128,
        "data.eval_subset_num_batches": 2,
        "global_train_batch_size": 8,
        "device_train_microbatch_size": 4,
        "device_eval_batch_size": 16,
        "max_duration": "4ba",
        "eval_interval": "4ba",
        "save_interval": "4ba",
        "precision": "fp32",
        "device": "cpu",
        "loggers.tensorboard": False,
        **extra,
    }
    return [f"{k}={v}" for k, v in values.items()]


def train_command(mds_dir, tokenizer_dir, run_root, **extra) -> list[str]:
    """`python docketbert/train.py yamls/tiny.yaml` with `tiny_overrides` and `extra`, as a process runs it."""
    import sys

    return [sys.executable, str(REPO / "docketbert" / "train.py"), str(YAMLS / "tiny.yaml"),
            *tiny_overrides(mds_dir, tokenizer_dir, run_root, **extra)]  # fmt: skip


def tiny_shape_overrides(**config) -> dict[str, object]:
    return {f"model.config.{k}": v for k, v in {**TINY_SHAPE, **config}.items()}


def load_export(run_dir: Path) -> ModernBertForMaskedLM:
    return ModernBertForMaskedLM.from_pretrained(run_dir / "hf")


class WritesMarker:
    """Unpickling this opens (creates) a file: what a crafted checkpoint could do with any code."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


PICKLE_RAN = "planted_pickle_ran"  # what a planted pickle creates beside its model folder if it is ever unpickled


class _Planted:
    """Unpickled, it would create the folder PICKLE_RAN: a stand-in for a payload."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def plant_pickle(src: Path, dst: Path, name: str = "pytorch_model.bin") -> Path:
    """A copy of the model folder `src` whose weights are a torch pickle `name` (holding a planted object that
    would create `dst.parent / PICKLE_RAN`) instead of model.safetensors."""
    import torch
    from safetensors.torch import load_file

    shutil.copytree(src, dst)
    weights = load_file(dst / "model.safetensors")
    (dst / "model.safetensors").unlink()
    torch.save({**weights, "planted": _Planted(dst.parent / PICKLE_RAN)}, dst / name)
    return dst


def write_bad_model_files(d: Path, model_dir: Path, tokenizer_dir: Path) -> None:
    """The planted and malformed model and tokenizer files both command-error tables refer to, under `d`: pickled
    weights (`pickled`, `pickled_pt`, copies of `model_dir`), a JSON that is no tokenizer (`faketok`, `other.json`)
    and a tokenizer folder whose tokenizer.json does not parse (`notjson_tok`)."""
    import json

    plant_pickle(model_dir, d / "pickled")
    plant_pickle(model_dir, d / "pickled_pt", "model.pt")
    (d / "faketok").mkdir()
    (d / "faketok" / "tokenizer.json").write_text(json.dumps({"hello": 1}))
    shutil.copytree(tokenizer_dir, d / "notjson_tok")
    (d / "notjson_tok" / "tokenizer.json").write_text("not json {\n")
    (d / "other.json").write_text(json.dumps({"hello": 1}))
