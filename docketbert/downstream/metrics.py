"""Downstream metrics as pure functions: classification (accuracy, macro-F1, per-class P/R/F1), multi-label, and
exact-character-match span P/R/F1. A ratio with a zero denominator is 0 (sklearn's zero_division=0)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence


def _div(a: float, b: float) -> float:
    return a / b if b else 0.0


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p, r = _div(tp, tp + fp), _div(tp, tp + fn)
    return {"precision": p, "recall": r, "f1": _div(2 * p * r, p + r)}


def classification_metrics(gold: Sequence[str], pred: Sequence[str]) -> dict:
    """Single-label. Macro-F1 averages over the labels that occur in gold or predictions (as sklearn does)."""
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold labels but {len(pred)} predictions")
    return multilabel_metrics([[g] for g in gold], [[p] for p in pred], _accuracy_name="accuracy")


def multilabel_metrics(
    gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], _accuracy_name: str = "accuracy"
) -> dict:
    """Multi-label: `accuracy` is exact-set match, `macro_f1` the mean per-label F1, `micro_f1` over all pairs.
    For one label per row, accuracy and micro-F1 equal plain accuracy."""
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold rows but {len(pred)} predictions")
    labels = sorted({x for row in gold for x in row} | {x for row in pred for x in row})
    counts = {label: [0, 0, 0] for label in labels}  # tp, fp, fn
    exact = 0
    for g, p in zip(gold, pred):
        g, p = set(g), set(p)
        exact += g == p
        for label in g & p:
            counts[label][0] += 1
        for label in p - g:
            counts[label][1] += 1
        for label in g - p:
            counts[label][2] += 1
    per_class = {}
    for label, (tp, fp, fn) in counts.items():
        per_class[label] = {**_prf(tp, fp, fn), "support": tp + fn}
    tp, fp, fn = (sum(c[i] for c in counts.values()) for i in range(3))
    return {
        _accuracy_name: _div(exact, len(gold)),
        "macro_f1": _div(sum(m["f1"] for m in per_class.values()), len(per_class)),
        "micro_f1": _prf(tp, fp, fn)["f1"],
        "per_class": per_class,
        "n": len(gold),
    }


def span_metrics(gold: Sequence[Sequence[Sequence[int]]], pred: Sequence[Sequence[Sequence[int]]]) -> dict:
    """Exact character match: a predicted (start, end) counts only if a gold span of the same row has both."""
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold rows but {len(pred)} predictions")
    tp = n_gold = n_pred = 0
    for g, p in zip(gold, pred):
        g, p = {tuple(s) for s in g}, {tuple(s) for s in p}
        tp += len(g & p)
        n_gold += len(g)
        n_pred += len(p)
    return {**_prf(tp, n_pred - tp, n_gold - tp), "n": len(gold), "n_gold_spans": n_gold, "n_pred_spans": n_pred}


def majority(labels: Sequence[Hashable]):
    """The most frequent label (ties: the smallest), for the trivial baseline."""
    counts: dict = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    return min(counts, key=lambda k: (-counts[k], str(k)))
