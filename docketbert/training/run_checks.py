"""What a run can check before Composer is imported or a model is built: the device, the model config and its
source, the tokenizer, the data's splits and vocabulary, the output and remote folders, and the algorithms' and
callbacks' options. Each fault is one ConfigError naming its key.

This module imports no Composer (only the plugin check at the end of `check_run` loads the algorithm and callback
modules), so `docketbert/train.py` reports a bad run in seconds, before the training imports.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from docketbert.config import ConfigError, TrainConfig
from docketbert.core.device import resolve_device
from docketbert.core.object_store import RemoteError, Store, check_remote, is_remote
from docketbert.core.paths import require_output_dir
from docketbert.core.tokenizer import load_tokenizer
from docketbert.core.workers import resolve_num_workers
from docketbert.data.shard_columns import check_shard_columns
from docketbert.model.build import (
    check_model_config,
    check_modernbert_dir,
    is_hub_id,
    looks_like_path,
    max_positions,
    resolve_attn_implementation,
    resolve_init,
)
from docketbert.registry import ALGORITHMS, CALLBACKS, check_all, load_plugins


@dataclass
class CheckedRun:
    """What `check_run` resolved: the device, the tokenizer (loaded) and the model source (None: from scratch)."""

    torch_device: torch.device
    tokenizer: Any
    init: str | None


def _split_samples(split_dir: Path) -> int:
    index = json.loads((split_dir / "index.json").read_text())
    return sum(int(shard.get("samples", 0)) for shard in index.get("shards", []))


def _splits(data) -> list[tuple[str, str]]:
    """(config key, split name) of the splits a run reads."""
    return [("data.train_split", data.train_split)] + (
        [("data.eval_split", data.eval_split)] if data.eval_split else []
    )


def _check_vocab(cfg: TrainConfig, vocab_size: int, stats_text: str | None, where: object) -> None:
    """The shards' stats.json (its text, or None when there is none) names the tokenizer's vocabulary size."""
    try:
        shards_vocab = json.loads(stats_text).get("vocab_size") if stats_text is not None else None
    except (ValueError, AttributeError):
        shards_vocab = None
    if isinstance(shards_vocab, int) and shards_vocab != vocab_size:
        raise ConfigError(
            f"tokenizer={cfg.tokenizer!r} has {vocab_size} tokens but the shards in {where} were tokenized with "
            f"{shards_vocab} (stats.json): set tokenizer to the one the shards were written with"
        )


def check_data(cfg: TrainConfig, vocab_size: int) -> None:
    """data.path's splits, local or remote: each there (a local one also a readable, non-empty MDS index), and
    tokenized with a vocabulary of the tokenizer's size (the shards' stats.json)."""
    data = cfg.data
    if is_remote(data.path):
        if data.local is None:
            raise ConfigError(f"data.path={data.path!r} is remote: set data.local to a cache folder on local disk")
        _check_remote_data(cfg, vocab_size)
        return
    root = Path(data.path)
    if not root.is_dir():
        raise ConfigError(f"data.path={data.path!r} does not exist: give the output folder of data_prep/to_mds.py")
    for key, split in _splits(data):
        if not (root / split / "index.json").is_file():
            raise ConfigError(f"{key}={split!r}: no MDS split at {root / split} (index.json missing)")
        try:
            samples = _split_samples(root / split)
        except (OSError, ValueError, TypeError, AttributeError) as err:
            raise ConfigError(f"{key}={split!r}: {root / split / 'index.json'} is not an MDS index ({err})") from None
        check_shard_columns(root / split / "index.json", f"{key}={split!r}")
        if samples == 0:
            fix = "set data.eval_split=null or rebuild with a larger eval split" if key == "data.eval_split" else ""
            raise ConfigError(
                f"{key}={split!r}: the split at {root / split} has no samples" + (f": {fix}" if fix else "")
            )
    stats_file = root / "stats.json"
    try:
        stats_text = stats_file.read_text() if stats_file.is_file() else None
    except OSError:
        stats_text = None
    _check_vocab(cfg, vocab_size, stats_text, root)


def _check_remote_data(cfg: TrainConfig, vocab_size: int) -> None:
    """A remote data.path: reachable with the credentials at hand, each split's index.json there, the vocabulary
    the shards' stats.json names."""
    data = cfg.data
    try:
        store = Store(check_remote(data.path, "data.path"))
    except RemoteError as err:
        raise ConfigError(str(err)) from None
    for key, split in _splits(data):
        if not store.exists(split, "index.json"):
            raise ConfigError(f"{key}={split!r}: no MDS split at {store.remote.uri(split)} (index.json missing)")
    _check_vocab(cfg, vocab_size, store.read_text("stats.json"), data.path)


def check_run(cfg: TrainConfig) -> CheckedRun:
    """Everything about a run that can be checked before a model is built, beyond `check_train_config`: the device,
    attention, `model.config` against ModernBertConfig's fields, `model.init` (an existing ModernBERT directory, a
    run, or a hub id; never a typo sent to the hub), the tokenizer, the data's splits and vocabulary, max_seq_len
    against the model's positions, the loader workers, and the algorithms' and callbacks' names and options.
    Raises ConfigError (one line naming the key)."""
    try:
        torch_device = resolve_device(cfg.device)
        resolve_attn_implementation(cfg.model.attn_implementation, on_gpu=torch_device.type == "cuda")
        resolve_num_workers(cfg.data.num_workers, 1)
        init = resolve_init(cfg.model.init, cfg.run_root) if cfg.model.init else None
        base = (
            check_modernbert_dir(Path(init), f"model.init={cfg.model.init!r}") if init and Path(init).is_dir() else None
        )
        check_model_config(cfg.model.config, base)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    positions = max_positions(cfg.model.config, base)
    # A hub model's positions are known once it is loaded (build_trainer checks them then).
    if (init is None or base is not None) and cfg.data.max_seq_len > positions:
        raise ConfigError(
            f"data.max_seq_len={cfg.data.max_seq_len} exceeds the model's max_position_embeddings {positions}"
        )
    if looks_like_path(cfg.tokenizer) and not Path(cfg.tokenizer).expanduser().exists():
        raise ConfigError(f"tokenizer={cfg.tokenizer!r} does not exist: give a tokenizer directory or an HF hub id")
    if not looks_like_path(cfg.tokenizer) and not Path(cfg.tokenizer).exists() and not is_hub_id(cfg.tokenizer):
        raise ConfigError(f"tokenizer={cfg.tokenizer!r} is neither a directory nor an HF hub id (owner/name)")
    try:
        tokenizer = load_tokenizer(cfg.tokenizer)
    except (OSError, ValueError) as err:
        raise ConfigError(f"tokenizer={cfg.tokenizer!r}: {str(err).splitlines()[0]}") from None
    vocab = cfg.model.config.get("vocab_size", (base or {}).get("vocab_size"))
    if isinstance(vocab, int) and vocab < len(tokenizer):
        source = "model.config.vocab_size" if "vocab_size" in cfg.model.config else f"model.init={cfg.model.init!r}"
        raise ConfigError(f"{source} has a vocabulary of {vocab}, fewer than the tokenizer's {len(tokenizer)} tokens")
    require_output_dir(cfg.run_dir, f"run_root={cfg.run_root!r}", ConfigError)
    check_data(cfg, len(tokenizer))
    if cfg.remote_folder:
        try:
            check_remote(cfg.remote_folder, "remote_folder")
        except RemoteError as err:
            raise ConfigError(str(err)) from None
    load_plugins()
    context = {"run_dir", "tokenizer", "cfg"}
    check_all("callbacks", CALLBACKS, cfg.callbacks, context)
    check_all("algorithms", ALGORITHMS, cfg.algorithms, context)
    teacher = (cfg.callbacks.get("distillation") or {}).get("teacher")
    if isinstance(teacher, str):
        try:
            resolve_init(teacher, cfg.run_root, key="callbacks.distillation.teacher")
        except ValueError as err:
            raise ConfigError(str(err)) from None
    return CheckedRun(torch_device, tokenizer, init)
