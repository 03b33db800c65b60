"""Predictions of a fine-tuned head through the fast inference path, decoded by the task (one decoding for what
`docketbert.evaluate` scores and what `docketbert.infer` writes).

    from docketbert.inference.encoder import Encoder
    from docketbert.downstream.predict import predict

    enc = Encoder.from_pretrained("runs/ft/citations", device="cpu")
    predict(enc, ["ORDER granting 56 Motion ...", ...])   # [{"spans": [{"label", "start", "end", "text", "score"}]}]

Sequence heads give {"label", "score", "probabilities"} (single-label) or {"labels", "probabilities"}
(multi-label); token heads give {"spans": [...]} with character offsets into the input text. The task is the one
a fine-tune recorded in `<model_dir>/docketbert_finetune.json` when there is one (`task_for_model_dir`), else it
follows from the head's config (`docketbert.downstream.tasks.task_for_head`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from docketbert.core.batching import token_budget_batches
from docketbert.downstream.finetune_record import finetune_record
from docketbert.downstream.tasks import Task, get_task, task_for_head
from docketbert.inference.encoder import Counts, Encoder


def task_for_model_dir(model_dir: str | Path, config) -> Task:
    """The task a fine-tuned export decodes with: the recorded one, else the one its head's config implies."""
    name = finetune_record(model_dir).get("config", {}).get("task")
    return task_for_head(config, name)


def predict(encoder: Encoder, texts: Sequence[str | None], task: str | Task | None = None) -> list[dict[str, Any]]:
    """One prediction per text, in input order, decoded by `task` (default: from the head's config; give the
    fine-tune's task, or use `task_for_model_dir`, to decode as `docketbert.evaluate` scores). Length-sorted
    token-budget batches through `Encoder.head_logits` (the Encoder's layout and mode); counted in
    `encoder.counts`."""
    token_level = encoder.head_level("predict") == "token"
    task = task_for_head(encoder.model.config) if task is None else get_task(task)
    if task.token_level != token_level:
        raise ValueError(
            f"task {task.name} does not fit this export's {'token' if token_level else 'sequence'}-classification head"
        )
    id2label = {int(k): v for k, v in encoder.model.config.id2label.items()}
    clean = ["" if t is None else str(t) for t in texts]
    tok = encoder.tokenize(clean, offsets=token_level)
    results: list[dict[str, Any]] = [{} for _ in clean]
    for batch in token_budget_batches([len(r) for r in tok.ids], encoder.token_budget):
        logits = encoder.head_logits([tok.ids[i] for i in batch])
        for r, i in enumerate(batch):
            if token_level:
                results[i] = task.decode(logits[r, : len(tok.ids[i])], id2label, clean[i], tok.offsets[i])
            else:
                results[i] = task.decode(logits[r], id2label)
    encoder.counts.add(Counts(len(clean), tok.empty, tok.truncated, sum(map(len, tok.ids))))
    return results
