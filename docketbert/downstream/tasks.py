"""Labelled downstream tasks as objects: one class per kind of task (single-label, multi-label, character spans),
each knowing how its JSONL rows are read and checked, how its head is configured, how its examples are encoded and
batched, how logits decode into predictions (the one decoding that both `docketbert.evaluate` scores and
`docketbert.infer` / `docketbert.downstream.predict` serve), and how predictions are scored.

`TASKS` is the registry of task names; command-line choices come from it. Splits are by the `case` field (never
by row, or the score leaks).
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from docketbert.core.batching import IGNORE_INDEX, pad_rows
from docketbert.core.paths import require_input_file
from docketbert.downstream import spans as span_codec
from docketbert.downstream.examples import Example, TaskDataError
from docketbert.downstream.metrics import multilabel_metrics, span_metrics


def _round(x: float) -> float:
    return round(float(x), 6)


class Task:
    """What a task needs from its rows to its scores; subclasses fill in one kind of task."""

    token_level = False  # a token-classification head (else a sequence-classification head)
    class_weights = False  # whether `--balanced` (class-weighted loss) applies

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    # ---- rows ----------------------------------------------------------------------------------------------------

    def parse_row(self, row: dict, ex: Example, where: str) -> None:
        """Fill `ex` (text and case already set) from `row`; a bad row raises TaskDataError naming `where`."""
        raise NotImplementedError

    def gold(self, ex: Example) -> list:
        """What `score` compares a prediction with: label names, or (start, end) spans."""
        raise NotImplementedError

    def check_labels(self, examples: list[Example], known, source: str = "data") -> None:
        """An unknown label at evaluation is an error (classification tasks)."""

    # ---- head ----------------------------------------------------------------------------------------------------

    def label_names(self, examples: list[Example]) -> list[str]:
        """The head's labels, in id order."""
        return label_vocab(examples)

    def head_config(self, labels: list[str], pooling: str | None = None) -> dict[str, Any]:
        """Config fields of the head: num_labels, id2label, label2id (and problem_type, classifier_pooling)."""
        return {
            "num_labels": len(labels),
            "id2label": dict(enumerate(labels)),
            "label2id": {name: i for i, name in enumerate(labels)},
        }

    def model_class(self):
        from transformers import AutoModelForSequenceClassification

        return AutoModelForSequenceClassification

    # ---- encoding and batches --------------------------------------------------------------------------------------

    def tokenize(self, tokenizer, texts: Sequence[str], max_length: int):
        """One tokenizer call, truncated to `max_length` tokens; offsets for token-level tasks."""
        return tokenizer(list(texts), truncation=True, max_length=max_length, return_offsets_mapping=self.token_level)

    def target(self, ex: Example, label2id: dict[str, int], offsets) -> Any:
        """The training label of one example."""
        raise NotImplementedError

    def encode(self, examples: list[Example], tokenizer, label2id: dict[str, int], max_length: int) -> list[dict]:
        """Token ids and labels per example."""
        enc = self.tokenize(tokenizer, [ex.text for ex in examples], max_length)
        offsets = enc["offset_mapping"] if self.token_level else [None] * len(examples)
        return [
            {"input_ids": enc["input_ids"][i], "labels": self.target(ex, label2id, offsets[i])}
            for i, ex in enumerate(examples)
        ]

    def collate_labels(self, labels: list, width: int) -> torch.Tensor:
        raise NotImplementedError

    def collator(self, pad_id: int) -> Collator:
        return Collator(pad_id, self)

    # ---- predictions and scores --------------------------------------------------------------------------------------

    def decode(self, logits: torch.Tensor, id2label: dict[int, str], text: str = "", offsets=None) -> dict[str, Any]:
        """One entry's prediction from its float logits: (n_labels,) for sequence tasks, (n_tokens, n_labels) for
        token tasks (with the tokens' character `offsets` into `text`)."""
        raise NotImplementedError

    def scored(self, prediction: dict[str, Any]) -> list:
        """The part of a `decode` prediction that `score` compares with `gold`."""
        raise NotImplementedError

    def score(self, examples: list[Example], predicted: list[list]) -> dict:
        return multilabel_metrics([self.gold(ex) for ex in examples], predicted)

    def baselines(self, train: list[Example] | None, held: list[Example]) -> dict:
        """The baselines' metrics on `held` (trained on `train` where they learn)."""
        raise NotImplementedError


class _Classification(Task):
    def gold(self, ex: Example) -> list:
        return ex.labels

    def check_labels(self, examples: list[Example], known, source: str = "data") -> None:
        check_labels(examples, known, source)

    def parse_row(self, row: dict, ex: Example, where: str) -> None:
        if "label" not in row:
            raise TaskDataError(f"{where}: no `label` field")
        label = row["label"]
        if not isinstance(label, str) or not label:
            raise TaskDataError(f"{where}: `label` must be a non-empty string, got {label!r}")
        ex.labels = [label]

    def baselines(self, train: list[Example] | None, held: list[Example]) -> dict:
        from docketbert.downstream.baselines import tfidf_logreg
        from docketbert.downstream.metrics import majority

        if not train:
            return {}
        common = majority([label for ex in train for label in ex.labels])
        return {
            "tfidf_logreg": self.score(held, tfidf_logreg(train, held, multi=isinstance(self, MultiLabelTask))),
            "majority": self.score(held, [[common] for _ in held]),
        }

    @staticmethod
    def _probabilities(p: torch.Tensor, id2label: dict[int, str]) -> dict[str, float]:
        return {id2label[j]: _round(p[j]) for j in range(len(p))}


class SingleLabelTask(_Classification):
    """One `label` per row; softmax cross-entropy; the prediction is the most likely label."""

    class_weights = True

    def head_config(self, labels: list[str], pooling: str | None = None) -> dict[str, Any]:
        out = {**super().head_config(labels), "problem_type": "single_label_classification"}
        return {**out, "classifier_pooling": pooling} if pooling else out

    def target(self, ex: Example, label2id: dict[str, int], offsets) -> int:
        return label2id[ex.labels[0]]

    def collate_labels(self, labels: list, width: int) -> torch.Tensor:
        return torch.tensor(labels, dtype=torch.long)

    def decode(self, logits, id2label, text="", offsets=None) -> dict[str, Any]:
        """{"label", "score", "probabilities": {label: p}} (softmax)."""
        p = logits.float().softmax(-1)
        best = int(logits.argmax())
        return {"label": id2label[best], "score": _round(p[best]), "probabilities": self._probabilities(p, id2label)}

    def scored(self, prediction: dict[str, Any]) -> list:
        return [prediction["label"]]


class MultiLabelTask(_Classification):
    """A `labels` list per row (a single `label` is a one-element list); sigmoid BCE. The prediction is every
    label with p > 0.5 (logit > 0), or, when none is, the single most likely label: every row of a task file
    carries a label, so an empty prediction is never right."""

    def parse_row(self, row: dict, ex: Example, where: str) -> None:
        if "labels" not in row:
            if "label" not in row:
                raise TaskDataError(f"{where}: no `labels` or `label` field")
            return super().parse_row(row, ex, where)
        labels = row["labels"]
        if not isinstance(labels, list) or not all(isinstance(x, str) and x for x in labels):
            raise TaskDataError(f"{where}: `labels` must be a list of non-empty strings, got {labels!r}")
        ex.labels = list(dict.fromkeys(labels))

    def head_config(self, labels: list[str], pooling: str | None = None) -> dict[str, Any]:
        out = {**super().head_config(labels), "problem_type": "multi_label_classification"}
        return {**out, "classifier_pooling": pooling} if pooling else out

    def target(self, ex: Example, label2id: dict[str, int], offsets) -> list[float]:
        return [float(name in ex.labels) for name in label2id]

    def collate_labels(self, labels: list, width: int) -> torch.Tensor:
        return torch.tensor(labels, dtype=torch.float)

    def decode(self, logits, id2label, text="", offsets=None) -> dict[str, Any]:
        """{"labels": [...], "probabilities": {label: p}} (sigmoid); see the class docstring for the rule."""
        picked = torch.nonzero(logits > 0).flatten().tolist() or [int(logits.argmax())]
        return {
            "labels": [id2label[j] for j in picked],
            "probabilities": self._probabilities(logits.float().sigmoid(), id2label),
        }

    def scored(self, prediction: dict[str, Any]) -> list:
        return prediction["labels"]


class SpanTask(Task):
    """Character `spans` per row, tagged BIO per token (`docketbert.downstream.spans`); token classification.
    `trim` is how decoded spans are trimmed (see `spans.decode_spans`): "digits" for entry-number citations."""

    token_level = True

    def __init__(self, name: str, trim: str = "digits"):
        super().__init__(name)
        if trim not in span_codec.TRIMS:
            raise ValueError(f"trim must be one of {', '.join(span_codec.TRIMS)}, got {trim!r}")
        self.trim = trim

    def parse_row(self, row: dict, ex: Example, where: str) -> None:
        ex.spans = _row_spans(row, ex.text, where)

    def gold(self, ex: Example) -> list:
        return ex.spans

    def label_names(self, examples: list[Example]) -> list[str]:
        return [span_codec.ID2TAG[i] for i in sorted(span_codec.ID2TAG)]

    def model_class(self):
        from transformers import AutoModelForTokenClassification

        return AutoModelForTokenClassification

    def target(self, ex: Example, label2id: dict[str, int], offsets) -> list[int]:
        return span_codec.encode_spans(offsets, ex.spans)

    def collate_labels(self, labels: list, width: int) -> torch.Tensor:
        out = torch.full((len(labels), width), IGNORE_INDEX, dtype=torch.long)
        for row, tags in enumerate(labels):
            out[row, : len(tags)] = torch.tensor(tags)
        return out

    def decode(self, logits, id2label, text="", offsets=None) -> dict[str, Any]:
        """{"spans": [{"label", "start", "end", "text", "score"}]}: character offsets into `text`, one span per
        tagged run (score: the mean of its tokens' top softmax probability)."""
        logits = logits[: len(offsets)]
        scores = logits.float().softmax(-1).max(-1).values.tolist()
        return {
            "spans": span_codec.decode_spans(logits.argmax(-1).tolist(), offsets, text, id2label, self.trim, scores)
        }

    def scored(self, prediction: dict[str, Any]) -> list:
        return [(s["start"], s["end"]) for s in prediction["spans"]]

    def score(self, examples: list[Example], predicted: list[list]) -> dict:
        return span_metrics([ex.spans for ex in examples], predicted)

    def baselines(self, train: list[Example] | None, held: list[Example]) -> dict:
        from docketbert.downstream.baselines import regex_spans

        return {
            "regex": self.score(held, [regex_spans(ex.text) for ex in held]),
            "no_spans": self.score(held, [[] for _ in held]),
        }


# The task names. `entry_type` is any single-label file (entry_category_flp.jsonl too); `multilabel` reads a
# `labels` list, and a single `label` as a one-element list; `citations` decodes spans trimmed to digit runs
# (entry numbers), which is how its F1 is measured.
TASKS: dict[str, Task] = {
    "entry_type": SingleLabelTask("entry_type"),
    "multilabel": MultiLabelTask("multilabel"),
    "citations": SpanTask("citations", trim="digits"),
}

# A token-classification export with no recorded task: spans of any label, trimmed of whitespace only.
GENERIC_SPANS = SpanTask("spans", trim="space")


def get_task(task: str | Task) -> Task:
    """A Task by name (or the Task itself); an unknown name is a ValueError listing the known ones."""
    if isinstance(task, Task):
        return task
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}: one of {', '.join(TASKS)}")
    return TASKS[task]


def task_for_head(config, name: str | None = None) -> Task:
    """The task that decodes a fine-tuned head: `name` (a fine-tune's recorded task) when given, else from the
    head's config: a token head -> GENERIC_SPANS, problem_type multi_label_classification -> multilabel, any other
    sequence head -> entry_type. A recorded task that does not fit the head is an error."""
    archs = " ".join(getattr(config, "architectures", None) or [])
    token_level = "ForTokenClassification" in archs
    if name is not None:
        task = get_task(name)
        if task.token_level != token_level:
            raise ValueError(
                f"task {task.name} needs a {'token' if task.token_level else 'sequence'}-"
                f"classification head; this export is {archs or 'a bare encoder'}"
            )
        return task
    if token_level:
        return GENERIC_SPANS
    if getattr(config, "problem_type", None) == "multi_label_classification":
        return TASKS["multilabel"]
    return TASKS["entry_type"]


class Collator:
    """Pads a batch to its longest row (a multiple of 8); labels are batched by the task (token labels pad with
    IGNORE_INDEX)."""

    def __init__(self, pad_id: int, task: str | Task):
        self.pad_id, self.task = pad_id, get_task(task)

    def __call__(self, items: list[dict]) -> dict[str, torch.Tensor]:
        ids, mask = pad_rows([it["input_ids"] for it in items], self.pad_id, 8)
        batch = {"input_ids": ids, "attention_mask": mask}
        if "labels" in items[0]:
            batch["labels"] = self.task.collate_labels([it["labels"] for it in items], ids.shape[1])
        return batch


# ---- reading task files ---------------------------------------------------------------------------------------------


def _row_spans(row: dict, text: str, where: str) -> list[tuple[int, int]]:
    if "spans" not in row or not isinstance(row["spans"], list):
        raise TaskDataError(f"{where}: no `spans` list")
    spans = []
    for i, span in enumerate(row["spans"]):
        # JSON integers only: int() would take 6.0, "6" and true as offsets and silently move a span.
        start, end = (span.get("start"), span.get("end")) if isinstance(span, dict) else (None, None)
        if not all(isinstance(x, int) and not isinstance(x, bool) for x in (start, end)):
            raise TaskDataError(f"{where}: span {i} needs integer `start` and `end`, got {span!r}")
        if not (0 <= start <= len(text) and 0 <= end <= len(text)):
            raise TaskDataError(f"{where}: span {i} [{start}, {end}) is outside the text (length {len(text)})")
        if end == start:
            raise TaskDataError(f"{where}: span {i} [{start}, {end}) is empty (a span covers at least one character)")
        if end < start:
            raise TaskDataError(f"{where}: span {i} [{start}, {end}) ends before it starts")
        if "text" in span and text[start:end] != span["text"]:
            raise TaskDataError(f"{where}: span {i} text {span['text']!r} != text[{start}:{end}] {text[start:end]!r}")
        spans.append((start, end))
    spans.sort()
    for (s0, e0), (s1, _) in zip(spans, spans[1:]):
        if s1 < e0:
            raise TaskDataError(f"{where}: spans [{s0}, {e0}) and [{s1}, ...) overlap")
    return spans


def parse_rows(rows: list[dict], task: str | Task, source: str = "<rows>") -> list[Example]:
    task = get_task(task)
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
        task.parse_row(row, ex, where)
        out.append(ex)
    if not out:
        raise TaskDataError(f"{source}: no rows")
    return out


def load_task(path: str | Path, task: str | Task) -> list[Example]:
    """Read and check a task JSONL file; a bad row raises TaskDataError naming its line."""
    task = get_task(task)
    path = Path(path)
    require_input_file(path, "task file")
    rows = []
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise TaskDataError(
                    f"{path}:{lineno}: invalid UTF-8 (byte {raw[e.start]:#04x}, the line's byte {e.start + 1})"
                ) from None
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


def _parse_one(row: dict, task: Task, where: str) -> list[Example]:
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
                raise TaskDataError(
                    f"{source} row {i}: label {label!r} is not one of the model's "
                    f"{len(known)} labels ({', '.join(sorted(known))})"
                )


def split_by_case(
    examples: list[Example], seed: int = 0, eval_fraction: float = 0.2
) -> tuple[list[Example], list[Example], dict]:
    """Shuffle the cases with `seed` and move whole cases to eval until it holds >= eval_fraction of the rows.
    Returns (train, eval, record) where the record (seed, fraction, eval cases, sizes) makes the split repeatable."""
    if not 0 < eval_fraction < 1:
        raise ValueError(f"eval_fraction must be in (0, 1), got {eval_fraction}")
    missing = [i for i, ex in enumerate(examples, 1) if ex.case is None]
    if missing:
        raise TaskDataError(
            f"row {missing[0]} (and {len(missing) - 1} more) has no `case` field: cannot split by "
            f"case; give an eval file instead"
        )
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
    record = {
        "seed": seed,
        "eval_fraction": eval_fraction,
        "n_train": len(train),
        "n_eval": len(held),
        "n_train_cases": len(cases) - len(eval_cases),
        "eval_cases": sorted(eval_cases),
    }
    return train, held, record
