"""Loading tokenizers: an HF hub name (needs a network) or a local directory."""

from __future__ import annotations

import json
from pathlib import Path

from transformers import AutoTokenizer, PreTrainedTokenizerFast

from docketbert.core.paths import input_file_fault, kind_of

# Tokens the MLM collator and ModernBERT need.
REQUIRED_SPECIAL_TOKENS = ("cls_token", "sep_token", "mask_token", "pad_token", "unk_token")


# The JSON files a tokenizer directory may hold that transformers reads; tokenizer.json is the fast tokenizer itself.
TOKENIZER_JSON_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
# What every tokenizer.json the tokenizers library writes holds at its top level (transformers reads both).
_TOKENIZER_KEYS = ("model", "added_tokens")


def tokenizer_fault(name_or_path: str | Path) -> str | None:
    """None, or what is wrong with a local tokenizer: a file where a directory belongs, or a JSON file of the
    directory that does not parse, is not an object, or (tokenizer.json) is not a tokenizer. The message names the
    file and, for JSON that does not parse, its line and column. A hub name or a missing path is the loader's to
    report (None here). Reads the files only: nothing is built from them but a throwaway `tokenizers.Tokenizer`."""
    path = Path(name_or_path).expanduser()
    kind = kind_of(path)
    if kind == "missing":
        return None
    if kind != "a directory":
        return f"{path} is {kind}, not a tokenizer directory (the folder holding tokenizer.json)"
    for name in TOKENIZER_JSON_FILES:
        file = path / name
        if kind_of(file) == "missing":
            continue
        fault = input_file_fault(file)
        if fault:
            return f"{file} {fault}"
        try:
            text = file.read_text(encoding="utf-8")
            data = json.loads(text)
        except UnicodeDecodeError as err:
            return f"{file} is not UTF-8 text (byte {err.object[err.start]:#04x} at offset {err.start}): not a {name}"
        except json.JSONDecodeError as err:
            return f"{file} is not JSON (line {err.lineno} column {err.colno}: {err.msg}): not a {name}"
        if not isinstance(data, dict):
            return f"{file} holds a JSON {type(data).__name__}, not an object: not a {name}"
        if name != "tokenizer.json":
            continue
        missing = [k for k in _TOKENIZER_KEYS if k not in data]
        if missing:
            keys = ", ".join(sorted(data)[:8]) or "none"
            return f"{file} is not a tokenizer: it has no {' or '.join(missing)} (its keys: {keys})"
        from tokenizers import Tokenizer

        try:
            Tokenizer.from_str(text)
        except Exception as err:  # the tokenizers library raises a bare Exception for a file it cannot read
            reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            return f"{file} is not a tokenizer the tokenizers library reads ({reason})"
    return None


def check_tokenizer_files(name_or_path: str | Path) -> None:
    """`tokenizer_fault` as a ValueError (one line naming the file)."""
    fault = tokenizer_fault(name_or_path)
    if fault:
        raise ValueError(fault)


def load_tokenizer(name_or_path: str) -> PreTrainedTokenizerFast:
    """Load a fast tokenizer and check it has every special token MLM pretraining needs (a local directory's files
    are checked first: `tokenizer_fault`)."""
    check_tokenizer_files(name_or_path)
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
