"""What the same-process CPU benchmarks under bench/ share: interleaved best-of-N timing and the JSON report."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def best_seconds(variants: dict[str, Callable[[], Any]], reps: int) -> dict[str, float]:
    """Each variant's best time over `reps` rounds; within a round the variants take turns, so a slow moment of the
    machine hits them alike."""
    best = {name: float("inf") for name in variants}
    for _ in range(reps):
        for name, fn in variants.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def report(result: dict, json_path: Path | None) -> dict:
    """Print `result` as one JSON line, also write it to `json_path` when given, and return it."""
    print(json.dumps(result))
    if json_path:
        json_path.write_text(json.dumps(result, indent=2))
    return result
