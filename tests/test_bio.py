"""BIO tags from character spans and back: exact on every span of the real citations file."""

import json

from transformers import AutoTokenizer

from docketbert.core.batching import IGNORE_INDEX
from docketbert.downstream.spans import B, I, O, decode_tags, encode_spans


def test_round_trip_every_citation_span(shared_data, tokenizer_dir):
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    rows = [json.loads(line) for line in open(shared_data / "entry_citations.jsonl")]
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
