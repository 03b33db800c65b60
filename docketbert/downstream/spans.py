"""The span codec: BIO tags from character spans via a fast tokenizer's offset mapping, and back to character spans.
`docketbert.evaluate` scores, and `docketbert.infer` / `docketbert.downstream.predict` serve, spans decoded here.

Encoding: a token is tagged when its character range overlaps a span; the first such token is B, the rest I.
Special tokens (empty offsets) get IGNORE_INDEX (-100).
Decoding: tokens with empty offsets (special tokens) or IGNORE_INDEX tags are skipped. A "B-X" tag starts an X
span; an "I-X" tag (or a plain "X") continues the X span just before it, or starts one; "O" ends a span. A span's
characters are its tokens' range, then trimmed: byte-level BPE tokens carry their leading space (" 56"), so a token
boundary need not be a span boundary. `trim="digits"` (citations: entry numbers are digit runs) strips every
non-digit at both ends; `trim="space"` strips whitespace only. Spans that trim to nothing are dropped.
With the project's tokenizer this round-trips every span of entry_citations.jsonl exactly
(tests/downstream/test_spans.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from docketbert.core.batching import IGNORE_INDEX

O, B, I = 0, 1, 2
ID2TAG = {O: "O", B: "B-CIT", I: "I-CIT"}
TAG2ID = {v: k for k, v in ID2TAG.items()}
TRIMS = ("digits", "space")


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


def decode_spans(
    tags: Sequence[int],
    offsets: Sequence[Sequence[int]],
    text: str,
    id2label: dict[int, str] | None = None,
    trim: str = "digits",
    scores: Sequence[float] | None = None,
) -> list[dict[str, Any]]:
    """Spans {"label", "start", "end", "text"} (plus "score", the mean of the span's token `scores`, when given)
    from per-token tag ids; `id2label` names the tags (default ID2TAG). See the module docstring for the rule."""
    if trim not in TRIMS:
        raise ValueError(f"trim must be one of {', '.join(TRIMS)}, got {trim!r}")
    id2label = ID2TAG if id2label is None else id2label
    runs: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for t, (tag, (start, end)) in enumerate(zip(tags, offsets)):
        if end <= start or tag == IGNORE_INDEX:
            continue
        label = id2label[int(tag)]
        if label == "O":
            current = None
            continue
        prefix, name = (label[0], label[2:]) if label[:2] in ("B-", "I-") else ("", label)
        if current is not None and current["label"] == name and prefix != "B":
            current["end"] = end
            current["tokens"].append(t)
            continue
        current = {"label": name, "start": start, "end": end, "tokens": [t]}
        runs.append(current)
    out = []
    for run in runs:
        start, end = _trim(text, run["start"], run["end"], trim)
        if end <= start:
            continue
        span = {"label": run["label"], "start": start, "end": end, "text": text[start:end]}
        if scores is not None:
            span["score"] = round(sum(scores[t] for t in run["tokens"]) / len(run["tokens"]), 6)
        out.append(span)
    return out


def decode_tags(
    tags: Sequence[int],
    offsets: Sequence[Sequence[int]],
    text: str,
    trim: str = "digits",
    id2label: dict[int, str] | None = None,
) -> list[tuple[int, int]]:
    """`decode_spans` as (start, end) character offsets: what span metrics compare."""
    return [(s["start"], s["end"]) for s in decode_spans(tags, offsets, text, id2label, trim)]
