"""Labelled downstream tasks: loading and checking `text` + `label` | `labels` | `spans` JSONL rows, label
vocabularies, and seeded train/eval splits by the `case` field (never by row, or the score leaks)."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import torch

from docketbert.core.batching import IGNORE_INDEX, pad_rows

# Task name -> kind. `entry_type` is any single-label file (entry_category_flp.jsonl too); `multilabel` reads a
# `labels` list, and a single `label` as a one-element list.
TASKS = {"entry_type": "single", "multilabel": "multi", "citations": "spans"}


class TaskDataError(ValueError):
    """A bad row in a task file; the message names the file, line and what is wrong."""


@dataclass
class Example:
    text: str
    labels: list[str] = field(default_factory=list)  # one label for single-label rows
    spans: list[tuple[int, int]] = field(default_factory=list)  # character offsets [start, end)
    case: Optional[str] = None


def task_kind(task: str) -> str:
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}: one of {', '.join(TASKS)}")
    return TASKS[task]


def _row_labels(row: dict, kind: str, where: str) -> list[str]:
    if kind == "multi" and "labels" in row:
        labels = row["labels"]
        if not isinstance(labels, list) or not all(isinstance(x, str) and x for x in labels):
            raise TaskDataError(f"{where}: `labels` must be a list of non-empty strings, got {labels!r}")
        return list(dict.fromkeys(labels))
    if "label" not in row:
        need = "`labels` or `label`" if kind == "multi" else "`label`"
        raise TaskDataError(f"{where}: no {need} field")
    label = row["label"]
    if not isinstance(label, str) or not label:
        raise TaskDataError(f"{where}: `label` must be a non-empty string, got {label!r}")
    return [label]


def _row_spans(row: dict, text: str, where: str) -> list[tuple[int, int]]:
    if "spans" not in row or not isinstance(row["spans"], list):
        raise TaskDataError(f"{where}: no `spans` list")
    spans = []
    for i, span in enumerate(row["spans"]):
        try:
            start, end = int(span["start"]), int(span["end"])
        except (KeyError, TypeError, ValueError):
            raise TaskDataError(f"{where}: span {i} needs integer `start` and `end`, got {span!r}") from None
        if not 0 <= start < end <= len(text):
            raise TaskDataError(f"{where}: span {i} [{start}, {end}) is outside the text (length {len(text)})")
        if "text" in span and text[start:end] != span["text"]:
            raise TaskDataError(f"{where}: span {i} text {span['text']!r} != text[{start}:{end}] "
                                f"{text[start:end]!r}")
        spans.append((start, end))
    spans.sort()
    for (s0, e0), (s1, _) in zip(spans, spans[1:]):
        if s1 < e0:
            raise TaskDataError(f"{where}: spans [{s0}, {e0}) and [{s1}, ...) overlap")
    return spans


def parse_rows(rows: list[dict], task: str, source: str = "<rows>") -> list[Example]:
    kind = task_kind(task)
    out = []
    for lineno, row in enumerate(rows, 1):
        where = f"{source}:{lineno}"
        if not isinstance(row, dict):
            raise TaskDataError(f"{where}: not a JSON object")
        text = row.get("text")
        if not isinstance(text, str) or not text.strip():
            raise TaskDataError(f"{where}: `text` must be a non-empty string")
        case = row.get("case")
        ex = Example(text=text, case=None if case is None else str(case))
        if kind == "spans":
            ex.spans = _row_spans(row, text, where)
        else:
            ex.labels = _row_labels(row, kind, where)
        out.append(ex)
    if not out:
        raise TaskDataError(f"{source}: no rows")
    return out


def load_task(path: str | Path, task: str) -> list[Example]:
    """Read and check a task JSONL file; a bad row raises TaskDataError naming its line."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"task file {path} does not exist")
    rows = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                rows.append(None)
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise TaskDataError(f"{path}:{lineno}: invalid JSON ({e.msg})") from None
    examples = []
    for lineno, row in enumerate(rows, 1):
        if row is not None:
            examples.extend(_parse_one(row, task, f"{path}:{lineno}"))
    if not examples:
        raise TaskDataError(f"{path}: no rows")
    return examples


def _parse_one(row: dict, task: str, where: str) -> list[Example]:
    """parse_rows for one row, with `where` (file:line) in its error messages."""
    try:
        return parse_rows([row], task, source=where)
    except TaskDataError as e:
        raise TaskDataError(str(e).replace(f"{where}:1:", f"{where}:", 1)) from None


def label_vocab(examples: list[Example]) -> list[str]:
    """Sorted label names (classification tasks)."""
    return sorted({label for ex in examples for label in ex.labels})


def check_labels(examples: list[Example], known: list[str] | dict, source: str = "data") -> None:
    """An unknown label at evaluation is an error: the model cannot predict it, and the score would mislead."""
    known = set(known)
    for i, ex in enumerate(examples, 1):
        for label in ex.labels:
            if label not in known:
                raise TaskDataError(f"{source} row {i}: label {label!r} is not one of the model's "
                                    f"{len(known)} labels ({', '.join(sorted(known))})")


def split_by_case(examples: list[Example], seed: int = 0, eval_fraction: float = 0.2
                  ) -> tuple[list[Example], list[Example], dict]:
    """Shuffle the cases with `seed` and move whole cases to eval until it holds >= eval_fraction of the rows.
    Returns (train, eval, record) where the record (seed, fraction, eval cases, sizes) makes the split repeatable."""
    if not 0 < eval_fraction < 1:
        raise ValueError(f"eval_fraction must be in (0, 1), got {eval_fraction}")
    missing = [i for i, ex in enumerate(examples, 1) if ex.case is None]
    if missing:
        raise TaskDataError(f"row {missing[0]} (and {len(missing) - 1} more) has no `case` field: cannot split by "
                            f"case; give an eval file instead")
    sizes: dict[str, int] = {}
    for ex in examples:
        sizes[ex.case] = sizes.get(ex.case, 0) + 1
    cases = sorted(sizes)
    if len(cases) < 2:
        raise TaskDataError(f"only {len(cases)} case(s): cannot split by case")
    random.Random(seed).shuffle(cases)
    target, eval_cases, n_eval = eval_fraction * len(examples), set(), 0
    for case in cases[:-1]:  # at least one case stays in train
        if n_eval >= target:
            break
        eval_cases.add(case)
        n_eval += sizes[case]
    train = [ex for ex in examples if ex.case not in eval_cases]
    held = [ex for ex in examples if ex.case in eval_cases]
    record = {"seed": seed, "eval_fraction": eval_fraction, "n_train": len(train), "n_eval": len(held),
              "n_train_cases": len(cases) - len(eval_cases), "eval_cases": sorted(eval_cases)}
    return train, held, record


class Collator:
    """Pads a batch to its longest row (a multiple of 8); token labels pad with IGNORE."""

    def __init__(self, pad_id: int, kind: str):
        self.pad_id, self.kind = pad_id, kind

    def __call__(self, items: list[dict]) -> dict[str, torch.Tensor]:
        ids, mask = pad_rows([it["input_ids"] for it in items], self.pad_id, 8)
        width = ids.shape[1]
        batch = {"input_ids": ids, "attention_mask": mask}
        if "labels" in items[0]:
            if self.kind == "spans":
                labels = torch.full((len(items), width), IGNORE_INDEX, dtype=torch.long)
                for row, it in enumerate(items):
                    labels[row, :len(it["labels"])] = torch.tensor(it["labels"])
            elif self.kind == "multi":
                labels = torch.tensor([it["labels"] for it in items], dtype=torch.float)
            else:
                labels = torch.tensor([it["labels"] for it in items], dtype=torch.long)
            batch["labels"] = labels
        return batch
