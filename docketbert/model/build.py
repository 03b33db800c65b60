"""Building ModernBERT masked-LM models (from an HF name, a directory or an earlier run, or from a config), and
choosing their attention implementation."""

from __future__ import annotations

import difflib
import importlib.util
import inspect
import json
import logging
import re
from pathlib import Path
from typing import Any

import torch
from transformers import ModernBertConfig, ModernBertForMaskedLM, PreTrainedTokenizerBase

from docketbert.model.packed_attention import VARLEN, install_padding_safe_masks
from docketbert.model.weights import UnsafeWeightsError, load_pretrained, weights_fault

log = logging.getLogger(__name__)


ATTN_IMPLEMENTATIONS = ("auto", "sdpa", "eager", "flash_attention_2", "flex_attention", VARLEN)


def resolve_attn_implementation(requested: str, on_gpu: bool) -> str:
    """`auto` picks flash_attention_2 when flash-attn is installed and a GPU is used, else sdpa (with a log line)."""
    if requested not in ATTN_IMPLEMENTATIONS:
        raise ValueError(f"model.attn_implementation {requested!r} is not one of {ATTN_IMPLEMENTATIONS}")
    has_flash = importlib.util.find_spec("flash_attn") is not None
    if requested == "flash_attention_2" and not (has_flash and on_gpu):
        reason = "the flash-attn package is not installed" if not has_flash else "no GPU is used"
        log.warning("attn_implementation flash_attention_2 requested but %s: falling back to sdpa", reason)
        return "sdpa"
    if requested != "auto":
        return requested
    if has_flash and on_gpu:
        return "flash_attention_2"
    log.warning(
        "attention: using sdpa (%s)",
        "flash-attn is not installed" if on_gpu else "flash-attn needs a GPU; running on CPU",
    )
    return "sdpa"


def resolve_model_source(name: str, run_root: str | Path = "runs") -> str:
    """An earlier docketbert run's export (`<run_root>/<name>/hf`) when one exists, else `name` as given (an HF hub
    name or a directory)."""
    export = Path(run_root) / name / "hf"
    return str(export) if (export / "config.json").exists() else name


_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")


def looks_like_path(name: str) -> bool:
    """Whether `name` is meant as a local path rather than an HF hub id (`owner/name`): it starts with `/`, `.` or
    `~`, has a backslash or more than one `/`, or its first component is a directory here (`data/tokenizer` with a
    `data/` folder)."""
    if name.startswith(("/", ".", "~")) or "\\" in name or name.count("/") > 1 or name.endswith("/"):
        return True
    return "/" in name and Path(name.split("/")[0]).is_dir()


def is_hub_id(name: str) -> bool:
    """An HF hub id of the `owner/name` form (as `answerdotai/ModernBERT-base`), not meant as a local path."""
    return bool(_HUB_ID.match(name)) and not looks_like_path(name)


def resolve_init(name: str, run_root: str | Path = "runs", key: str = "model.init") -> str:
    """`model.init` resolved without touching the network: an earlier run's export, an existing directory (whose
    config.json must be a ModernBERT's, and whose weights safetensors: `weights_fault`), or an HF hub id
    (`owner/name`). Anything else (a path that does not exist, a bare name that is no run) raises ValueError, so a
    typo never reaches the hub."""
    source = resolve_model_source(name, run_root)
    path = Path(source).expanduser()
    if path.is_dir():
        check_modernbert_dir(path, f"{key}={name!r}")
        fault = weights_fault(path)
        if fault:
            raise UnsafeWeightsError(f"{key}={name!r}: {fault}")
        return str(path)
    if path.exists():
        raise ValueError(f"{key}={name!r} is a file: name a model directory, a run, or an HF hub id")
    if is_hub_id(name):
        return name
    runs = Path(run_root) / name / "hf"
    raise ValueError(
        f"{key}={name!r} does not exist: not a directory, not a run ({runs} has no config.json), and not an "
        "HF hub id (owner/name)"
    )


def check_modernbert_dir(path: Path, what: str) -> dict[str, Any]:
    """The config.json of an HF model directory, which must be a ModernBERT's (`model_type: modernbert`)."""
    config_file = path / "config.json"
    if not config_file.is_file():
        raise ValueError(f"{what}: {path} has no config.json (not an HF model directory)")
    try:
        config = json.loads(config_file.read_text())
    except (OSError, ValueError) as err:
        raise ValueError(f"{what}: {config_file} is not valid JSON ({err})") from None
    model_type = config.get("model_type") if isinstance(config, dict) else None
    if model_type != "modernbert":
        raise ValueError(f"{what}: {path} holds a {model_type!r} model; only model_type 'modernbert' is supported")
    return config


# Keys ModernBertConfig still takes for compatibility, beside its fields (they set layer_types and rope_parameters).
LEGACY_CONFIG_KEYS = (
    "global_attn_every_n_layers",
    "global_rope_theta",
    "local_rope_theta",
    "rope_scaling",
    "rope_theta",
)
_POSITIVE_INT_KEYS = (
    "vocab_size",
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "max_position_embeddings",
    "local_attention",
    "global_attn_every_n_layers",
)
_DROPOUT_KEYS = ("attention_dropout", "embedding_dropout", "mlp_dropout", "classifier_dropout")


def model_config_keys() -> set[str]:
    """Every key `model.config` may set: ModernBertConfig's fields and its legacy keys."""
    keys = set(inspect.signature(ModernBertConfig.__init__).parameters) - {"self", "kwargs"}
    return keys | set(ModernBertConfig().to_dict()) | set(LEGACY_CONFIG_KEYS)


def check_model_config(overrides: dict[str, Any], base: dict[str, Any] | None = None) -> None:
    """`model.config`: every key a ModernBertConfig field (a typo names itself, with the closest field), sizes
    positive integers, dropouts in [0, 1), heads dividing the width. `base` is the config they apply to (an init's
    config.json; default ModernBERT-base's). Raises ValueError."""
    known = model_config_keys()
    for key, value in overrides.items():
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ValueError(f"model.config.{key} is not a ModernBertConfig field{hint}")
        if key in _POSITIVE_INT_KEYS and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"model.config.{key}={value!r}: must be an integer >= 1")
        if key in _DROPOUT_KEYS and (
            isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1
        ):
            raise ValueError(f"model.config.{key}={value!r}: must be a number in [0, 1)")
    merged = {**(base or {}), **overrides}
    width = merged.get("hidden_size", ModernBertConfig().hidden_size)
    heads = merged.get("num_attention_heads", ModernBertConfig().num_attention_heads)
    if width % heads:
        raise ValueError(f"model.config.hidden_size={width} is not a multiple of num_attention_heads={heads}")


def max_positions(overrides: dict[str, Any], base: dict[str, Any] | None = None) -> int:
    """The model's max_position_embeddings after `overrides` (on an init's config.json, or ModernBERT-base's)."""
    merged = {**(base or {}), **overrides}
    return int(merged.get("max_position_embeddings", ModernBertConfig().max_position_embeddings))


def round_up(value: int, multiple: int = 64) -> int:
    return -(-value // multiple) * multiple


def build_mlm_model(
    init: str | None, config_overrides: dict[str, Any], tokenizer: PreTrainedTokenizerBase, attn_implementation: str
) -> ModernBertForMaskedLM:
    """Continued pretraining from `init` (HF name or directory), or a fresh model of ModernBERT-base's config
    (transformers' ModernBertConfig defaults) with `config_overrides`, sized to the tokenizer's vocabulary."""
    overrides = dict(config_overrides)
    if init is not None:
        model = load_pretrained(ModernBertForMaskedLM, init, attn_implementation=attn_implementation, **overrides)
        if len(tokenizer) > model.config.vocab_size:
            raise ValueError(
                f"tokenizer has {len(tokenizer)} tokens but {init!r} has a vocabulary of "
                f"{model.config.vocab_size}: they do not belong together"
            )
        return install_padding_safe_masks(model)
    special = {
        "pad_token_id": tokenizer.pad_token_id,
        "cls_token_id": tokenizer.cls_token_id,
        "sep_token_id": tokenizer.sep_token_id,
        "bos_token_id": tokenizer.cls_token_id,
        "eos_token_id": tokenizer.sep_token_id,
    }
    overrides.setdefault("vocab_size", round_up(len(tokenizer)))
    if overrides["vocab_size"] < len(tokenizer):
        raise ValueError(f"model.config.vocab_size {overrides['vocab_size']} < the tokenizer's {len(tokenizer)} tokens")
    config = ModernBertConfig(**{**special, **overrides})
    config._attn_implementation = attn_implementation
    return install_padding_safe_masks(ModernBertForMaskedLM(config))


def count_parameters(model: torch.nn.Module) -> int:
    """Unique parameters (the tied decoder weight counts once)."""
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
