"""Caches of converted models (OpenVINO) beside an export, bound to the weights they were built from.

A cache entry `NAME` in a folder is its graph files plus `NAME.json`, a record of
- the key: a hash of the encoder's weights as loaded (every tensor's name, dtype, shape and bytes), of its config,
  of the conversion (mode, pooling, ...) and of the library versions that built it;
- a SHA-256 of each graph file.
An entry is served only when its record holds the key of the weights in memory and every file still has its
recorded hash; anything else (other weights, another library version, a file replaced or truncated) is removed and
built again. So a stale graph, or one planted in the folder without its record, is never run.

    key = cache_key(encoder, mode="openvino_int8", pooling="cls", openvino=openvino.__version__)
    if not cache_valid(folder, "cls-int8", key):
        ...write the files...
        write_record(folder, "cls-int8", key, ["cls-int8.xml", "cls-int8.bin"])
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

import torch

FORMAT = 1  # bumped when what a cache entry holds changes


def weights_digest(module: torch.nn.Module) -> str:
    """SHA-256 of every parameter and buffer of `module`: name, dtype, shape and bytes."""
    h = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy())
    return h.hexdigest()


def cache_key(module: torch.nn.Module, **parts: object) -> str:
    """The key of a graph built from `module` (its weights and config) by the conversion `parts` describe."""
    config = getattr(module, "config", None)
    payload = {
        "format": FORMAT,
        "weights": weights_digest(module),
        "config": config.to_json_string(use_diff=False) if config is not None else "",
        "torch": torch.__version__,
        **{k: str(v) for k, v in sorted(parts.items())},
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def file_digest(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def _record_path(folder: Path, name: str) -> Path:
    return folder / f"{name}.json"


def cache_valid(folder: str | Path, name: str, key: str) -> bool:
    """Whether entry `name` in `folder` was built for `key` and its files are the ones recorded."""
    folder = Path(folder)
    try:
        record = json.loads(_record_path(folder, name).read_text())
        if record.get("key") != key or not record.get("files"):
            return False
        return all(file_digest(folder / f) == digest for f, digest in record["files"].items())
    except (OSError, ValueError, AttributeError, TypeError):
        return False


def clear_entry(folder: str | Path, name: str, files: Sequence[str]) -> None:
    """Remove entry `name`: its record and `files` (whatever is there)."""
    folder = Path(folder)
    for path in (_record_path(folder, name), *(folder / f for f in files)):
        path.unlink(missing_ok=True)


def write_record(folder: str | Path, name: str, key: str, files: Sequence[str]) -> None:
    """Record entry `name` (written atomically, after its files)."""
    folder = Path(folder)
    record = {"key": key, "files": {f: file_digest(folder / f) for f in files}}
    path = _record_path(folder, name)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record, indent=1))
    os.replace(tmp, path)
