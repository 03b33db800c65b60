"""Downstream metrics against values computed by hand."""

import pytest

from docketbert.downstream.metrics import classification_metrics, majority, multilabel_metrics, span_metrics


def test_classification_by_hand():
    gold = ["a", "a", "a", "b", "b", "c"]
    pred = ["a", "a", "b", "b", "c", "c"]
    m = classification_metrics(gold, pred)
    assert m["accuracy"] == pytest.approx(4 / 6)
    # a: P 2/2 R 2/3 F1 0.8; b: P 1/2 R 1/2 F1 0.5; c: P 1/2 R 1/1 F1 2/3
    assert m["per_class"]["a"] == pytest.approx({"precision": 1.0, "recall": 2 / 3, "f1": 0.8, "support": 3})
    assert m["per_class"]["b"]["f1"] == pytest.approx(0.5)
    assert m["per_class"]["c"] == pytest.approx({"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1})
    assert m["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert m["n"] == 6


def test_a_label_only_predicted_counts_in_macro_f1():
    m = classification_metrics(["a", "a"], ["a", "z"])
    # a: P 1 R 1/2 F1 2/3; z: never gold, F1 0 -> macro (2/3 + 0) / 2
    assert m["macro_f1"] == pytest.approx(1 / 3)
    assert m["per_class"]["z"]["support"] == 0


def test_multilabel_by_hand():
    gold = [["x", "y"], ["x"], ["y"]]
    pred = [["x"], ["x", "y"], ["y"]]
    m = multilabel_metrics(gold, pred)
    assert m["accuracy"] == pytest.approx(1 / 3)  # exact-set match: row 3 only
    # x: tp 2 fp 0 fn 0 -> F1 1; y: tp 1 fp 1 fn 1 -> F1 0.5; micro tp 3 fp 1 fn 1 -> 0.75
    assert m["macro_f1"] == pytest.approx(0.75)
    assert m["micro_f1"] == pytest.approx(0.75)


def test_spans_by_hand():
    gold = [[(3, 5), (10, 12)], [], [(0, 1)]]
    pred = [[(3, 5), (10, 11)], [(4, 6)], []]
    m = span_metrics(gold, pred)
    # tp 1, pred 3, gold 3 -> P 1/3, R 1/3, F1 1/3 (the off-by-one span counts as both a miss and a false alarm)
    assert (m["precision"], m["recall"], m["f1"]) == pytest.approx((1 / 3, 1 / 3, 1 / 3))
    assert m["n"] == 3 and m["n_gold_spans"] == 3 and m["n_pred_spans"] == 3
    none = span_metrics(gold, [[], [], []])
    assert (none["precision"], none["recall"], none["f1"]) == (0.0, 0.0, 0.0)


def test_lengths_must_match_and_majority():
    with pytest.raises(ValueError, match="2 gold labels but 1"):
        classification_metrics(["a", "b"], ["a"])
    assert majority(["b", "a", "b", "a", "c"]) == "a"
