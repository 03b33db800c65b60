"""The span codec: BIO tags from character spans and back, exact on every span of the real citations file; the
same decoding for scores (decode_tags) and served spans (decode_spans)."""

import json
from pathlib import Path

import pytest
from transformers import AutoTokenizer

from docketbert.core.batching import IGNORE_INDEX
from docketbert.downstream.spans import B, I, O, decode_spans, decode_tags, encode_spans


def test_round_trip_every_citation_span(shared_data, tokenizer_dir):
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    rows = [json.loads(line) for line in Path(shared_data / "entry_citations.jsonl").read_text().splitlines()]
    n_spans = 0
    for row in rows:
        offsets = tokenizer(row["text"], return_offsets_mapping=True)["offset_mapping"]
        spans = sorted((s["start"], s["end"]) for s in row["spans"])
        tags = encode_spans(offsets, spans)
        assert tags.count(B) == len(spans)
        assert decode_tags(tags, offsets, row["text"]) == spans, row["text"]
        n_spans += len(spans)
    assert n_spans == 4842


def test_encode_decode_by_hand():
    text = "ORDER granting 56 Motion (RE: related document(s)8, 12)"
    # Offsets as a byte-level BPE gives them: the leading space belongs to the number's token.
    offsets = [(0, 0), (0, 5), (5, 14), (14, 17), (17, 24), (24, 49), (49, 50), (50, 51), (51, 54), (54, 55), (0, 0)]
    spans = [(15, 17), (49, 50), (52, 54)]
    tags = encode_spans(offsets, spans)
    assert tags == [IGNORE_INDEX, O, O, B, O, O, B, O, B, O, IGNORE_INDEX]
    assert decode_tags(tags, offsets, text) == spans
    # An I without a B starts a span; a span that trims to nothing is dropped.
    assert decode_tags([IGNORE_INDEX, O, I, I, O, O, O, O, O, O, IGNORE_INDEX], offsets, text) == [(15, 17)]
    assert decode_tags([IGNORE_INDEX, B, O, O, O, O, O, O, O, O, IGNORE_INDEX], offsets, text) == []
    assert decode_tags([IGNORE_INDEX, B, O, O, O, O, O, O, O, O, IGNORE_INDEX], offsets, text, trim="space") == [(0, 5)]


def test_decode_spans_names_labels_scores_and_matches_decode_tags():
    text = "ORDER granting 56 Motion (RE: related document(s)8, 12)"
    offsets = [(0, 0), (0, 5), (5, 14), (14, 17), (17, 24), (24, 49), (49, 50), (50, 51), (51, 54), (54, 55), (0, 0)]
    tags = [O, O, O, B, O, O, B, I, I, O, O]  # "8" + ", 12": one tagged run, digit-trimmed at both ends
    scores = [1.0, 1.0, 1.0, 0.9, 1.0, 1.0, 0.6, 0.7, 0.8, 1.0, 1.0]
    spans = decode_spans(tags, offsets, text, scores=scores)
    assert spans == [
        {"label": "CIT", "start": 15, "end": 17, "text": "56", "score": 0.9},
        {"label": "CIT", "start": 49, "end": 54, "text": "8, 12", "score": 0.7},
    ]
    assert decode_tags(tags, offsets, text) == [(s["start"], s["end"]) for s in spans]
    # other label names: a plain "X" continues an X run; a new B starts a new span; "O" ends one
    names = {0: "O", 1: "B-PARTY", 2: "I-PARTY", 3: "DATE"}
    got = decode_spans([0, 1, 2, 3, 3, 1, 0, 2, 0, 0, 0], offsets, text, names, trim="space")
    assert [(s["label"], s["text"]) for s in got] == [
        ("PARTY", "ORDER granting"),
        ("DATE", "56 Motion"),
        ("PARTY", "(RE: related document(s)"),
        ("PARTY", ","),
    ]


@pytest.mark.parametrize(
    "span",
    [{"start": 6.0, "end": 8.0}, {"start": False, "end": True}, {"start": "6", "end": 8}, {"start": 6}, [6, 8]],
)
def test_span_offsets_must_be_json_integers(span):
    """A float, boolean or string offset is a bad row (int() would take it and move the span), named by its row."""
    from docketbert.downstream.tasks import TaskDataError, parse_rows

    rows = [{"text": "ORDER 5", "spans": []}, {"text": "ORDER 56 x", "spans": [span]}]
    with pytest.raises(TaskDataError) as err:
        parse_rows(rows, "citations", source="cites.jsonl")
    assert str(err.value) == f"cites.jsonl:2: span 0 needs integer `start` and `end`, got {span!r}"
    assert parse_rows([{"text": "ORDER 56 x", "spans": [{"start": 6, "end": 8}]}], "citations")[0].spans == [(6, 8)]
