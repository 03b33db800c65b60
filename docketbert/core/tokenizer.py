"""Loading tokenizers: an HF hub name (needs a network) or a local directory."""

from __future__ import annotations

from transformers import AutoTokenizer, PreTrainedTokenizerFast

# Tokens the MLM collator and ModernBERT need.
REQUIRED_SPECIAL_TOKENS = ("cls_token", "sep_token", "mask_token", "pad_token", "unk_token")


def load_tokenizer(name_or_path: str) -> PreTrainedTokenizerFast:
    """Load a fast tokenizer and check it has every special token MLM pretraining needs."""
    try:
        tokenizer = AutoTokenizer.from_pretrained(name_or_path, use_fast=True)
    except OSError as err:
        raise OSError(
            f"could not load tokenizer {name_or_path!r}: give a local tokenizer directory, or an HF hub "
            f"name on a machine with a network (offline, train one with data_prep/train_tokenizer.py)"
        ) from err
    if not tokenizer.is_fast:
        raise ValueError(f"tokenizer {name_or_path!r} is not a fast tokenizer")
    missing = [name for name in REQUIRED_SPECIAL_TOKENS if getattr(tokenizer, name) is None]
    if missing:
        raise ValueError(f"tokenizer {name_or_path!r} lacks special tokens {missing}")
    return tokenizer


def smallest_id_dtype(vocab_size: int) -> str:
    """The smallest unsigned numpy dtype name that holds every token id."""
    return "uint16" if vocab_size <= 2**16 else "uint32"
