"""The record a fine-tune writes beside its export (settings, split), read by evaluate, infer and the report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RECORD = "docketbert_finetune.json"


def finetune_record(model_dir: str | Path) -> dict[str, Any]:
    """The fine-tune's record in `model_dir`, or {} when it has none; an unreadable record is a ValueError naming
    the file."""
    path = Path(model_dir) / RECORD
    if not path.exists():
        return {}
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"unreadable fine-tune record {path} ({type(err).__name__}: {err})") from None
    if not isinstance(record, dict):
        raise ValueError(f"unreadable fine-tune record {path} (not a JSON object)")
    return record


def recorded_task(model_dir: str | Path) -> str | None:
    """The task name the fine-tune in `model_dir` recorded, or None."""
    config = finetune_record(model_dir).get("config")
    return config.get("task") if isinstance(config, dict) else None
