"""BIO tags from character spans via a fast tokenizer's offset mapping, and back to character spans.

Encoding: a token is tagged when its character range overlaps a span; the first such token is B, the rest I.
Special tokens (empty offsets) get IGNORE_INDEX (-100). Decoding: each B (or an I not following B/I) starts a span that
runs over the following I tokens; its characters are the tokens' range, then trimmed: byte-level BPE tokens
carry their leading space (" 56"), so a token boundary need not be a span boundary. `trim="digits"` (citations:
entry numbers are digit runs) strips every non-digit at both ends; `trim="space"` strips whitespace only.
With the project's tokenizer this round-trips every span of entry_citations.jsonl exactly (tests/test_bio.py).
"""

from __future__ import annotations

from typing import Sequence

from docketbert.core.batching import IGNORE_INDEX

O, B, I = 0, 1, 2
ID2TAG = {O: "O", B: "B-CIT", I: "I-CIT"}
TAG2ID = {v: k for k, v in ID2TAG.items()}


def encode_spans(offsets: Sequence[Sequence[int]], spans: Sequence[Sequence[int]]) -> list[int]:
    """One tag per token. `offsets` is the tokenizer's offset_mapping for one text; `spans` are (start, end)."""
    tags = [IGNORE_INDEX if end <= start else O for start, end in offsets]
    for s, e in spans:
        first = True
        for i, (start, end) in enumerate(offsets):
            if end > start and start < e and end > s:
                tags[i] = B if first else I
                first = False
    return tags


def _trim(text: str, start: int, end: int, trim: str) -> tuple[int, int]:
    keep = str.isdigit if trim == "digits" else (lambda c: not c.isspace())
    while start < end and not keep(text[start]):
        start += 1
    while end > start and not keep(text[end - 1]):
        end -= 1
    return start, end


def decode_tags(tags: Sequence[int], offsets: Sequence[Sequence[int]], text: str, trim: str = "digits"
                ) -> list[tuple[int, int]]:
    """Character spans from per-token tags (ids; IGNORE_INDEX and special tokens are skipped). Spans that trim to
    nothing are dropped."""
    if trim not in ("digits", "space"):
        raise ValueError(f"trim must be 'digits' or 'space', got {trim!r}")
    spans, current = [], None
    for tag, (start, end) in zip(tags, offsets):
        if end <= start or tag == IGNORE_INDEX:
            continue
        if tag == B or (tag == I and current is None):
            if current is not None:
                spans.append(current)
            current = [start, end]
        elif tag == I:
            current[1] = end
        else:
            if current is not None:
                spans.append(current)
            current = None
    if current is not None:
        spans.append(current)
    out = []
    for start, end in spans:
        start, end = _trim(text, start, end, trim)
        if end > start:
            out.append((start, end))
    return out
