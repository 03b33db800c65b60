"""The record a fine-tune writes beside its export (settings, split), read by evaluate, infer and the report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RECORD = "docketbert_finetune.json"


def finetune_record(model_dir: str | Path) -> dict[str, Any]:
    """The fine-tune's record in `model_dir`, or {} when it has none."""
    path = Path(model_dir) / RECORD
    return json.loads(path.read_text()) if path.exists() else {}
