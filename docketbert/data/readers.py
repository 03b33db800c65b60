"""Streaming readers for raw docket entries: CourtListener CSVs, JSONL and plain text (.gz/.bz2/.xz too).

Every reader yields one `Row` per input record, bad ones included (with `drop` set to the reason), so a
record stream is deterministic and can be cut into resumable parts by row count. Nothing loads a whole file:
lines are read and decoded one at a time, so invalid UTF-8 (repaired with U+FFFD) and NUL bytes (removed)
are attributed to the exact row they occur in. Line ends may be LF, CRLF or CR alone (detected from the
first 64 KiB). A truncated or corrupt compressed file raises `InputError` naming the file.

CSV follows PostgreSQL's `COPY ... (FORMAT csv)` rules, in either of its two quoting dialects:
  * `none` (PostgreSQL's default): a quote inside a quoted field is doubled (""), a backslash is an ordinary
    character;
  * `backslash` (`ESCAPE '\\'`, CourtListener's bulk exports): inside a quoted field \\" is a quote and \\\\ a
    backslash; outside quotes (no FORCE_QUOTE) a backslash is an ordinary character, as PostgreSQL writes it.
In both, a doubled quote inside quotes is read as one quote. A quote opens a quoted field only as the field's first
character; elsewhere in an unquoted field (`MOTION 5" thick`) it is data, as Python's csv module reads it. PostgreSQL
never writes such a quote (COPY TO quotes any field holding one), so its exports read the same either way; its COPY
FROM would instead open a quoted part there and fail at the end of the file, or run on into the next row.
`auto` (the default) detects the dialect from the head of the file (`detect_csv_escape`). A quoted field that never
closes (by the end of the file, or within a budget of characters) makes its record one `malformed_csv_row` that ends
before the next line that reads as the start of a new row (an integer first field, the right shape, and no quote
inside an unquoted field); the rows after it are kept. The price: a multi-line field with an inner line that reads
as a whole row of the file (an integer, then as many fields as the header) is taken for a swallowed row too.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import json
import lzma
import re
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, NamedTuple

FORMATS = ("csv", "jsonl", "text")
CSV_ESCAPES = ("auto", "backslash", "none")
DEFAULT_DOCKET_KEYS = ("docket_id", "case", "docket")
# Characters one CSV record may span before an unclosed quote is given up on (far above any real entry).
CSV_RECORD_BUDGET = 4_000_000
_COMPRESSED = {
    # The caller closes the stream: it outlives this table's lambdas.
    ".gz": lambda f: gzip.GzipFile(fileobj=f, mode="rb"),
    ".bz2": lambda f: bz2.BZ2File(f, "rb"),  # noqa: SIM115
    ".xz": lambda f: lzma.LZMAFile(f, "rb"),  # noqa: SIM115
}
# What a truncated or corrupt compressed stream raises while it is read.
_DECOMPRESSION_ERRORS = (EOFError, OSError, zlib.error, lzma.LZMAError)
_EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl", ".txt": "text", ".text": "text"}
_PROGRESS_EVERY = 4096  # rows between progress callbacks
_HEAD = 1 << 16  # bytes read to tell the line ends
_SNIFF_BYTES = 1 << 20  # decompressed bytes read to tell the CSV dialect


class InputError(ValueError):
    """An input that cannot be read at all (unknown format, missing CSV column): a user error, not a bug."""


class Row(NamedTuple):
    text: str | None  # raw text; None when the row is dropped
    docket: str | None  # docket id as a string; None when the row has none
    drop: str | None  # None, or why the row is unusable: malformed_csv_row, invalid_json, missing_text, invalid_unicode
    bad_utf8: bool  # had invalid UTF-8 (repaired with U+FFFD)
    nul: bool  # had NUL bytes (removed)


def decode_line(line: bytes) -> tuple[str, bool, bool]:
    """(text, had invalid UTF-8, had NUL bytes) for one raw line; NULs removed, bad bytes -> U+FFFD."""
    nul = b"\x00" in line
    if nul:
        line = line.replace(b"\x00", b"")
    try:
        return line.decode("utf-8"), False, nul
    except UnicodeDecodeError:
        return line.decode("utf-8", "replace"), True, nul


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


def raw_lines(stream: BinaryIO, path: str | Path) -> Iterator[bytes]:
    """The lines of a binary stream, each with its line end: LF (CRLF included) or, when the first 64 KiB hold
    a CR and no LF, CR alone. A stream that cannot be decompressed raises `InputError` naming `path`."""
    try:
        head = stream.read(_HEAD)
        if b"\r" in head and b"\n" not in head:
            yield from _split_chunks(head, stream, b"\r")
            return
        parts = head.split(b"\n")
        yield from (p + b"\n" for p in parts[:-1])
        tail = parts[-1]
        if tail:
            rest = next(iter(stream), b"") if len(head) == _HEAD else b""
            yield tail + rest
        yield from stream
    except _DECOMPRESSION_ERRORS as err:
        what = Path(path).suffix.lower()
        kind = f"the {what} file is truncated or corrupt" if what in _COMPRESSED else "it cannot be read"
        raise InputError(f"{path}: {kind} ({err})") from None


def _split_chunks(head: bytes, stream: BinaryIO, sep: bytes) -> Iterator[bytes]:
    pending = head
    while True:
        chunk = stream.read(1 << 20)
        parts = (pending + chunk).split(sep)
        pending = parts.pop()
        yield from (p + sep for p in parts)
        if not chunk:
            if pending:
                yield pending
            return


def iter_rows(
    path: str | Path,
    fmt: str | None = None,
    *,
    text_column: str = "description",
    docket_column: str | None = "docket_id",
    text_key: str = "text",
    docket_key: str | None = None,
    csv_escape: str | bool = "auto",
    csv_record_budget: int = CSV_RECORD_BUDGET,
    progress: Callable[[int], None] | None = None,
) -> Iterator[Row]:
    """All records of one input file as `Row`s. `progress(n)` is called with compressed bytes read since
    the previous call. `csv_escape` is a `CSV_ESCAPES` dialect (True means backslash, False none). Raises
    `InputError` (before yielding) for an unknown format or missing CSV column, and (while reading) for a
    truncated or corrupt compressed file."""
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
    escape = resolve_csv_escape(path, csv_escape) if fmt == "csv" else "none"
    raw, stream = open_input(path)
    with raw, stream:
        lines = raw_lines(stream, path)
        if fmt == "csv":
            rows = _csv_rows(lines, path, text_column, docket_column, escape, csv_record_budget)
        elif fmt == "jsonl":
            rows = _jsonl_rows(lines, text_key, docket_key)
        else:
            rows = _text_rows(lines)
        done = 0
        for i, row in enumerate(rows, 1):
            yield row
            if progress is not None and i % _PROGRESS_EVERY == 0:
                pos = raw.tell()
                progress(pos - done)
                done = pos
        if progress is not None:
            progress(raw.tell() - done)


def _text_rows(lines: Iterable[bytes]) -> Iterator[Row]:
    for line in lines:
        text, bad, nul = decode_line(line)
        yield Row(text.rstrip("\r\n"), None, None, bad, nul)


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _jsonl_rows(lines: Iterable[bytes], text_key: str, docket_key: str | None) -> Iterator[Row]:
    keys = (docket_key,) if docket_key else DEFAULT_DOCKET_KEYS
    for line in lines:
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
        docket = None if docket is None else str(docket)
        # A \ud800-style escape decodes to a lone surrogate, which no tokenizer or UTF-8 writer takes.
        if "\\u" in text and (_has_lone_surrogate(value) or (docket is not None and _has_lone_surrogate(docket))):
            yield Row(None, None, "invalid_unicode", bad, nul)
            continue
        yield Row(value, docket, None, bad, nul or "\x00" in value)


# ------------------------------------------------------------------------------------------------- CSV

_QUOTED_STOP_BACKSLASH = re.compile(r'["\\]')
# A doubled quote inside a field's text: PostgreSQL writes it only in the default dialect (no ESCAPE), where
# a quote is doubled; with ESCAPE '\' a quote is \" and "" is only ever an empty field or \"" at a field's end.
_DOUBLED_QUOTE_IN_TEXT = re.compile(r'(?<![,\n\r\\])""(?![,\r\n])')


def _scan(
    s: str, fields: list[str], buf: list[str], in_quotes: bool, backslash: bool, stray: list[int] | None = None
) -> bool:
    """Parse one physical line `s` (with its line end) into `fields`, continuing a record whose current field
    holds `buf` (a line that starts outside quotes starts a record). Returns whether the line ended inside a quoted
    field (the record continues on the next line). A quote opens a quoted field only as a field's first character;
    anywhere else outside quotes it is data (its offset is added to `stray` when given)."""
    i = 0
    at_start = not in_quotes
    while True:
        if in_quotes:
            if backslash:
                m = _QUOTED_STOP_BACKSLASH.search(s, i)
                j = m.start() if m else -1
            else:
                j = s.find('"', i)
            if j < 0:
                buf.append(s[i:])
                return True
            buf.append(s[i:j])
            if s[j] == '"':
                # "" is one quote; PostgreSQL writes it only without ESCAPE, but reading it so in both is harmless
                if s.startswith('"', j + 1):
                    buf.append('"')
                    i = j + 2
                else:
                    in_quotes = False  # the field goes on unquoted: a quote before its end is data
                    i = j + 1
            else:  # a backslash escapes only a quote or a backslash; before anything else it is itself
                c = s[j + 1 : j + 2]
                if c == '"' or c == "\\":
                    buf.append(c)
                    i = j + 2
                else:
                    buf.append("\\")
                    i = j + 1
        else:
            if at_start and s.startswith('"', i):
                in_quotes, at_start = True, False
                i += 1
                continue
            j = s.find(",", i)
            end = len(s) if j < 0 else j
            if stray is not None and s.find('"', i, end) >= 0:
                stray.append(s.find('"', i, end))
            if j < 0:
                buf.append(s[i:].rstrip("\r\n"))
                fields.append("".join(buf))
                buf.clear()
                return False
            buf.append(s[i:j])
            fields.append("".join(buf))
            buf.clear()
            at_start = True
            i = j + 1


def _looks_like_row_start(s: str, backslash: bool, n_fields: int, i_text: int) -> bool:
    """Whether a line read on its own is the start of a row: an integer first field, and either a whole row of
    `n_fields` fields or the fields before the text column and a quote opening the text column."""
    if not (s[:1].isdigit() or (s[:1] == '"' and s[1:2].isdigit())):
        return False
    fields: list[str] = []
    buf: list[str] = []
    stray: list[int] = []
    in_quotes = _scan(s, fields, buf, False, backslash, stray)
    if stray or not fields or not fields[0].isdigit():  # PostgreSQL writes no quote inside an unquoted field
        return False
    if in_quotes:
        return len(fields) == i_text  # (a quote opens a field only at its start)
    return len(fields) == n_fields


class _Lines:
    """Decoded lines with a push-back stack, so a record that turns out bad can hand its lines back."""

    def __init__(self, lines: Iterable[bytes]):
        self._it = iter(lines)
        self._back: list[tuple[str, bool, bool]] = []

    def next(self) -> tuple[str, bool, bool] | None:
        if self._back:
            return self._back.pop()
        line = next(self._it, None)
        return None if line is None else decode_line(line)

    def push_back(self, lines: list[tuple[str, bool, bool]]) -> None:
        self._back.extend(reversed(lines))


class _Feed:
    """The lines of one complete record at a time, for one long-lived csv.reader."""

    def __init__(self):
        self.lines: list[str] = []  # reversed: pop() gives the next
        self.exhausted = False  # csv asked for a line past the record's: it read the record as longer

    def __iter__(self):
        return self

    def __next__(self) -> str:
        if self.lines:
            return self.lines.pop()
        self.exhausted = True
        raise StopIteration


def _scan_lines(used: list[tuple[str, bool, bool]], backslash: bool) -> tuple[list[str], list[str], bool]:
    fields: list[str] = []
    buf: list[str] = []
    in_quotes = False
    for line in used:
        in_quotes = _scan(line[0], fields, buf, in_quotes, backslash)
    return fields, buf, in_quotes


def _csv_records(
    lines: _Lines, backslash: bool, n_fields: int | None, i_text: int, budget: int
) -> Iterator[tuple[list[str] | None, bool, bool]]:
    """(fields, had bad UTF-8, had NUL) per record; fields is None for a record that is malformed: its quote
    never closed (by the end of the file or within `budget` characters), or it spans lines and has the wrong
    number of fields. Such a record ends before its first later line that reads as the start of a row, which is
    read again; without one, the lines after its first are read again unless it began with an integer id.

    Where a backslash cannot be an escape (the `none` dialect, or a record without one) Python's csv module (the
    same rules there, in C: a quote opens a quoted field only at the field's start) splits the record; a line with
    an odd number of quotes is scanned (`_scan`) to tell whether the record goes on. The rest goes through
    `_scan`."""
    raise_csv_field_limit()
    feed = _Feed()
    reader = csv.reader(feed, doublequote=True, strict=False)
    while True:
        first = lines.next()
        if first is None:
            return
        text, bad, nul = first
        if '"' not in text:
            text = text.rstrip("\r\n")
            if text:  # a blank line is not a record
                yield text.split(","), bad, nul
            continue
        used = [first]
        size = len(text)
        over = False
        slow = backslash and "\\" in text
        # An even number of quotes closes every quoted field it opens unless a quote is data (inside an unquoted
        # field); csv then reports wanting a further line (feed.exhausted below). An odd number is scanned.
        in_quotes = not slow and bool(text.count('"') & 1) and _scan(text, [], [], False, backslash)
        while in_quotes and not slow:
            line = lines.next()
            if line is None:
                break
            used.append(line)
            size += len(line[0])
            slow = backslash and "\\" in line[0]
            in_quotes = slow or _scan(line[0], [], [], True, backslash)
            over = size > budget
            if over:
                break
        fields: list[str] | None = None
        if not (slow or in_quotes or over):
            feed.lines, feed.exhausted = [u[0] for u in reversed(used)], False
            try:
                fields = next(reader)
            except (csv.Error, StopIteration):
                fields = None
            if feed.lines or feed.exhausted:  # csv ends the record elsewhere (a line end in an unquoted field)
                fields, feed.lines = None, []
        if fields is None:
            fields, buf, in_quotes = _scan_lines(used, backslash)
            while in_quotes and not over:
                line = lines.next()
                if line is None:
                    break
                used.append(line)
                size += len(line[0])
                in_quotes = _scan(line[0], fields, buf, True, backslash)
                over = size > budget
        for _u, b, n in used[1:]:
            bad |= b
            nul |= n
        # A record that spans lines but holds a line that reads as a row of its own swallowed that row: a quote
        # of its own never closed (and its closing quote was the next row's opening one).
        restart = None
        if len(used) > 1 and n_fields is not None and fields[:1] and fields[0].isdigit():
            restart = next(
                (i for i in range(1, len(used)) if _looks_like_row_start(used[i][0], backslash, n_fields, i_text)),
                None,
            )
        whole = not (in_quotes or over) and (n_fields is None or len(fields) == n_fields or len(used) == 1)
        if restart is None and whole:
            yield fields, bad, nul
            continue
        yield None, bad, nul
        if restart is not None:
            lines.push_back(used[restart:])
        elif n_fields is not None and not (fields[:1] and fields[0].isdigit()):
            lines.push_back(used[1:])


def _sample_lines(path: str | Path) -> list[bytes]:
    raw, stream = open_input(path)
    with raw, stream:
        out, size = [], 0
        for line in raw_lines(stream, path):
            out.append(line)
            size += len(line)
            if size >= _SNIFF_BYTES:
                break
        return out


def detect_csv_escape(path: str | Path) -> str:
    """The CSV dialect of a PostgreSQL export, from its first MiB: the one of the two that reads fewer malformed
    records; on a tie `none` when a field holds a doubled quote (PostgreSQL's default dialect), else `backslash`
    (CourtListener's exports)."""
    lines = _sample_lines(path)
    sample = b"".join(lines).decode("utf-8", "replace")
    doubled = "none" if _DOUBLED_QUOTE_IN_TEXT.search(sample) else "backslash"
    if "\\" not in sample:
        return doubled  # the two dialects read a file without backslashes alike
    malformed = {}
    for escape in ("backslash", "none"):
        records = _csv_records(_Lines(lines), escape == "backslash", None, 0, CSV_RECORD_BUDGET)
        header = next(records, (None, False, False))[0]
        n = len(header) if header else 0
        # The last record may be cut by the sample's end.
        malformed[escape] = sum(f is None or len(f) != n for f, _, _ in records)
    if malformed["none"] != malformed["backslash"]:
        return min(malformed, key=malformed.get)
    return doubled


def resolve_csv_escape(path: str | Path, csv_escape: str | bool) -> str:
    """`csv_escape` as `backslash` or `none`: True and False as those, `auto` detected from the file."""
    if csv_escape is True or csv_escape is False:
        return "backslash" if csv_escape else "none"
    if csv_escape not in CSV_ESCAPES:
        raise InputError(f"unknown CSV escape {csv_escape!r}: one of {', '.join(CSV_ESCAPES)}")
    return detect_csv_escape(path) if csv_escape == "auto" else csv_escape


def _csv_rows(
    lines: Iterable[bytes], path: str | Path, text_column: str, docket_column: str | None, escape: str, budget: int
) -> Iterator[Row]:
    backslash = escape == "backslash"
    source = _Lines(lines)
    header_records = _csv_records(source, backslash, None, 0, budget)
    header, _, _ = next(header_records, (None, False, False))
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
    for fields, bad, nul in _csv_records(source, backslash, n_fields, i_text, budget):
        if fields is None or len(fields) != n_fields:
            yield Row(None, None, "malformed_csv_row", bad, nul)
            continue
        docket = fields[i_docket].strip() if i_docket is not None else ""
        yield Row(fields[i_text], docket or None, None, bad, nul)
