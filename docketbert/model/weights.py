"""Model folders are loaded from safetensors only.

A pickle-format weights file (pytorch_model.bin, *.pt, *.pth, a .bin that is not safetensors) can run code of its
author's choosing when it is unpickled. torch's weights_only loader refuses the dangerous ones, but with a long
message of its own and only once the model is being built; a folder whose weights would come from a pickle is
refused here first, in one line naming the file (`check_safe_weights`). `load_pretrained` is how every docketbert
loader reads a model's weights: that check on a local folder, then `from_pretrained(..., use_safetensors=True)`, so
neither a folder nor a hub id falls back to a pickle.

The files checked are the ones transformers would read: the file config.json's `transformers_weights` names, else
model.safetensors, else the shards model.safetensors.index.json lists; each must be a safetensors file (a pickle
renamed to model.safetensors is refused too). A folder with none of them but a pickle-format file is refused,
naming it; one with no weights at all is left to from_pretrained's own one-line error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SAFE_WEIGHTS = "model.safetensors"
SAFE_WEIGHTS_INDEX = "model.safetensors.index.json"
PICKLE_WEIGHTS = "pytorch_model.bin"  # transformers' pickle-format name, named first when a folder holds several
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
_MAX_HEADER = 100 << 20  # bytes: far above the JSON header of any real safetensors file
CONVERT_HINT = (
    "convert it where the file is trusted: from_pretrained(DIR).save_pretrained(DIR) writes model.safetensors"
)


class UnsafeWeightsError(ValueError):
    """A model folder whose weights would be unpickled (or are not the safetensors file they are named as)."""


def is_safetensors(path: Path) -> bool:
    """Whether `path` begins as a safetensors file does: an 8-byte little-endian header length that fits the file,
    then that many bytes of a JSON object."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(9)
    except OSError:
        return False
    if len(head) < 9:
        return False
    length = int.from_bytes(head[:8], "little")
    return 2 <= length <= min(size - 8, _MAX_HEADER) and head[8:9] == b"{"


def _is_pickled(path: Path) -> bool:
    """A torch archive (a zip holding data.pkl) or a bare pickle (protocol 2 and up begin with 0x80)."""
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError:
        return False
    return head.startswith(b"PK\x03\x04") or head[:1] == b"\x80"


def _explicit_weights(model_dir: Path) -> str | None:
    """config.json's `transformers_weights`: the file transformers reads instead of model.safetensors."""
    try:
        config = json.loads((model_dir / "config.json").read_text())
    except (OSError, ValueError):
        return None
    name = config.get("transformers_weights") if isinstance(config, dict) else None
    return name if isinstance(name, str) and name else None


def _shards(index: Path) -> list[Path]:
    """The files a sharded checkpoint's index maps its tensors to (none when the index does not read)."""
    try:
        weight_map = json.loads(index.read_text()).get("weight_map", {})
        return [index.parent / name for name in dict.fromkeys(weight_map.values()) if isinstance(name, str)]
    except (OSError, ValueError, AttributeError):
        return []


def _pickle_candidates(model_dir: Path) -> list[Path]:
    """Pickle-format files of `model_dir` that could pass for its weights, pytorch_model.bin first."""
    try:
        found = sorted(
            p
            for p in model_dir.iterdir()
            if p.suffix.lower() in PICKLE_SUFFIXES and p.is_file() and not is_safetensors(p)
        )
    except OSError:
        return []
    return sorted(found, key=lambda p: p.name != PICKLE_WEIGHTS)


def weights_fault(model_dir: str | Path) -> str | None:
    """None when the weights from_pretrained would read from the folder `model_dir` are safetensors (or there are
    none for it to find), else one line naming the file and what it is."""
    model_dir = Path(model_dir).expanduser()
    explicit = _explicit_weights(model_dir)
    if explicit is not None:
        files = _shards(model_dir / explicit) if explicit.endswith(".json") else [model_dir / explicit]
    elif (model_dir / SAFE_WEIGHTS).is_file():
        files = [model_dir / SAFE_WEIGHTS]
    elif (model_dir / SAFE_WEIGHTS_INDEX).is_file():
        files = _shards(model_dir / SAFE_WEIGHTS_INDEX)
    else:
        pickles = _pickle_candidates(model_dir)
        if pickles:
            return f"{pickles[0]} is a pickle; docketbert loads safetensors only ({CONVERT_HINT})"
        return None
    return next((fault for fault in map(weights_file_fault, files) if fault), None)


def weights_file_fault(file: Path) -> str | None:
    """None for a safetensors file (or a missing one: from_pretrained names it), else what `file` is instead."""
    if not file.exists() or is_safetensors(file):
        return None
    if _is_pickled(file) or file.suffix.lower() in PICKLE_SUFFIXES:
        return f"{file} is a pickle; docketbert loads safetensors only ({CONVERT_HINT})"
    return f"{file} is not a safetensors file (its header does not read as one): the export is damaged or replaced"


def check_safe_weights(model_dir: str | Path) -> None:
    """`weights_fault` as an UnsafeWeightsError, for a local folder (a hub id is checked by `load_pretrained`)."""
    if Path(model_dir).expanduser().is_dir():
        fault = weights_fault(model_dir)
        if fault:
            raise UnsafeWeightsError(fault)


def load_pretrained(cls: Any, source: str | Path, **kwargs: Any) -> Any:
    """`cls.from_pretrained(source, **kwargs)` from safetensors only: a local folder passes `check_safe_weights`
    first, and transformers is told to read safetensors and nothing else."""
    check_safe_weights(source)
    return cls.from_pretrained(source, use_safetensors=True, **kwargs)
