"""Building ModernBERT masked-LM models (from an HF name, a directory or an earlier run, or from a config), and
choosing their attention implementation."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Any

import torch
from transformers import ModernBertConfig, ModernBertForMaskedLM, PreTrainedTokenizerBase

from docketbert.model.packed_attention import install_padding_safe_masks

log = logging.getLogger(__name__)


ATTN_IMPLEMENTATIONS = ("auto", "sdpa", "eager", "flash_attention_2", "flex_attention")


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


def round_up(value: int, multiple: int = 64) -> int:
    return -(-value // multiple) * multiple


def build_mlm_model(
    init: str | None, config_overrides: dict[str, Any], tokenizer: PreTrainedTokenizerBase, attn_implementation: str
) -> ModernBertForMaskedLM:
    """Continued pretraining from `init` (HF name or directory), or a fresh model of ModernBERT-base's config
    (transformers' ModernBertConfig defaults) with `config_overrides`, sized to the tokenizer's vocabulary."""
    overrides = dict(config_overrides)
    if init is not None:
        model = ModernBertForMaskedLM.from_pretrained(init, attn_implementation=attn_implementation, **overrides)
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
