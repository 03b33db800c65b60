"""Streaming readers for raw docket entries: CourtListener CSVs, JSONL and plain text (.gz/.bz2/.xz too).

Every reader yields one `Row` per input record, bad ones included (with `drop` set to the reason), so a
record stream is deterministic and can be cut into resumable parts by row count. Nothing loads a whole file:
lines are read and decoded one at a time, so invalid UTF-8 (repaired with U+FFFD) and NUL bytes (removed)
are attributed to the exact row they occur in.
"""

from __future__ import annotations

import bz2
import codecs
import csv
import gzip
import json
import lzma
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, NamedTuple

FORMATS = ("csv", "jsonl", "text")
DEFAULT_DOCKET_KEYS = ("docket_id", "case", "docket")
_COMPRESSED = {
    # The caller closes the stream: it outlives this table's lambdas.
    ".gz": lambda f: gzip.GzipFile(fileobj=f, mode="rb"),
    ".bz2": lambda f: bz2.BZ2File(f, "rb"),  # noqa: SIM115
    ".xz": lambda f: lzma.LZMAFile(f, "rb"),  # noqa: SIM115
}
_EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl", ".txt": "text", ".text": "text"}
_PROGRESS_EVERY = 4096  # rows between progress callbacks


class InputError(ValueError):
    """An input that cannot be read at all (unknown format, missing CSV column): a user error, not a bug."""


class Row(NamedTuple):
    text: str | None  # raw text; None when the row is dropped
    docket: str | None  # docket id as a string; None when the row has none
    drop: str | None  # None, or why the row is unusable: malformed_csv_row, invalid_json, missing_text
    bad_utf8: bool  # had invalid UTF-8 (repaired with U+FFFD)
    nul: bool  # had NUL bytes (removed)


# A codec error handler that repairs like "replace" and counts how many bad byte runs it repaired.
_repaired = [0]


def _count_and_replace(err: UnicodeDecodeError) -> tuple[str, int]:
    _repaired[0] += 1
    return "\ufffd", err.end


codecs.register_error("docketbert-count-replace", _count_and_replace)


def repaired_count() -> int:
    """How many invalid UTF-8 sequences this process has repaired so far."""
    return _repaired[0]


def decode_line(line: bytes) -> tuple[str, bool, bool]:
    """(text, had invalid UTF-8, had NUL bytes) for one raw line; NULs removed, bad bytes -> U+FFFD."""
    nul = b"\x00" in line
    if nul:
        line = line.replace(b"\x00", b"")
    try:
        return line.decode("utf-8"), False, nul
    except UnicodeDecodeError:
        return line.decode("utf-8", "docketbert-count-replace"), True, nul


def detect_format(path: str | Path) -> str:
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] in _COMPRESSED:
        suffixes.pop()
    fmt = _EXTENSIONS.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        raise InputError(f"cannot tell the format of {path} from its extension: pass --format csv|jsonl|text")
    return fmt


def open_input(path: str | Path) -> tuple[BinaryIO, BinaryIO]:
    """(raw file, decompressed binary stream); raw.tell() is the number of (compressed) bytes read."""
    raw = open(path, "rb")  # noqa: SIM115 - returned open: the caller reads and closes it
    wrapper = _COMPRESSED.get(Path(path).suffix.lower())
    return raw, (wrapper(raw) if wrapper else raw)


def raise_csv_field_limit() -> None:
    limit = sys.maxsize
    while True:
        try:
            csv.field_size_limit(limit)
            return
        except OverflowError:
            limit //= 2


def iter_rows(
    path: str | Path,
    fmt: str | None = None,
    *,
    text_column: str = "description",
    docket_column: str | None = "docket_id",
    text_key: str = "text",
    docket_key: str | None = None,
    csv_escape: bool = True,
    progress: Callable[[int], None] | None = None,
) -> Iterator[Row]:
    """All records of one input file as `Row`s. `progress(n)` is called with compressed bytes read since
    the previous call. Raises `InputError` (before yielding) for an unknown format or missing CSV column."""
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
    raw, stream = open_input(path)
    with raw, stream:
        if fmt == "csv":
            rows = _csv_rows(stream, path, text_column, docket_column, csv_escape)
        elif fmt == "jsonl":
            rows = _jsonl_rows(stream, text_key, docket_key)
        else:
            rows = _text_rows(stream)
        done = 0
        for i, row in enumerate(rows, 1):
            yield row
            if progress is not None and i % _PROGRESS_EVERY == 0:
                pos = raw.tell()
                progress(pos - done)
                done = pos
        if progress is not None:
            progress(raw.tell() - done)


def _text_rows(stream: BinaryIO) -> Iterator[Row]:
    for line in stream:
        text, bad, nul = decode_line(line)
        yield Row(text.rstrip("\r\n"), None, None, bad, nul)


def _jsonl_rows(stream: BinaryIO, text_key: str, docket_key: str | None) -> Iterator[Row]:
    keys = (docket_key,) if docket_key else DEFAULT_DOCKET_KEYS
    for line in stream:
        if not line.strip():
            continue  # blank lines are not records
        text, bad, nul = decode_line(line)
        try:
            obj = json.loads(text)
        except ValueError:
            yield Row(None, None, "invalid_json", bad, nul)
            continue
        if not isinstance(obj, dict):
            yield Row(None, None, "invalid_json", bad, nul)
            continue
        value = obj.get(text_key)
        if not isinstance(value, str):
            yield Row(None, None, "missing_text", bad, nul)
            continue
        docket = next((obj[k] for k in keys if obj.get(k) not in (None, "")), None)
        yield Row(value, None if docket is None else str(docket), None, bad, nul or "\x00" in value)


class _Lines:
    """Decodes a binary stream line by line for csv.reader, remembering bad bytes since the last reset."""

    def __init__(self, stream: BinaryIO):
        self._stream = stream
        self.bad = self.nul = False

    def __iter__(self) -> Iterator[str]:
        for line in self._stream:
            text, bad, nul = decode_line(line)
            self.bad |= bad
            self.nul |= nul
            yield text

    def reset(self) -> None:
        self.bad = self.nul = False


def _csv_rows(
    stream: BinaryIO, path: str | Path, text_column: str, docket_column: str | None, csv_escape: bool
) -> Iterator[Row]:
    """PostgreSQL COPY CSV (CourtListener bulk data): quotes doubled ("") or, with `csv_escape`,
    backslash-escaped (\\" and \\\\, COPY's ESCAPE '\\')."""
    raise_csv_field_limit()
    lines = _Lines(stream)
    reader = csv.reader(iter(lines), escapechar="\\" if csv_escape else None, doublequote=True, strict=False)
    header = next(reader, None)
    if header is None:
        return
    header = [h.strip().lstrip("\ufeff") for h in header]
    wanted = [("--text-column", text_column)] + ([("--docket-column", docket_column)] if docket_column else [])
    for flag, column in wanted:
        if column not in header:
            raise InputError(f"{path}: no column {column!r} ({flag}); the columns found are: {', '.join(header)}")
    n_fields = len(header)
    i_text = header.index(text_column)
    i_docket = header.index(docket_column) if docket_column else None
    while True:
        lines.reset()
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error:
            yield Row(None, None, "malformed_csv_row", lines.bad, lines.nul)
            continue
        if not fields:
            continue  # a blank line is not a record
        if len(fields) != n_fields:
            yield Row(None, None, "malformed_csv_row", lines.bad, lines.nul)
            continue
        docket = fields[i_docket].strip() if i_docket is not None else ""
        yield Row(fields[i_text], docket or None, None, lines.bad, lines.nul)
