"""Input parsing: CSV quoting styles, JSONL keys and bad records, plain text, format detection."""

from __future__ import annotations

import bz2
import gzip

import pytest

from docketbert.data.readers import InputError, Row, detect_format, iter_rows


def test_detect_format():
    assert detect_format("a/docket-entries.csv.bz2") == "csv"
    assert detect_format("x.jsonl.gz") == "jsonl"
    assert detect_format("x.txt") == "text"
    with pytest.raises(InputError, match="--format"):
        detect_format("x.parquet")


def test_csv_backslash_and_doubled_quotes(tmp_path):
    path = tmp_path / "e.csv"
    path.write_bytes(b'docket_id,description\n1,"a \\"b\\" ""c"" d\\\\e"\n2,"multi\nline"\n\n3,plain\n')
    rows = list(iter_rows(path))
    assert [r.text for r in rows] == ['a "b" "c" d\\e', "multi\nline", "plain"]  # the blank line is no record
    assert [r.docket for r in rows] == ["1", "2", "3"]
    # without the escape (--no-csv-escape), a backslash is an ordinary character, even before a quote
    path.write_bytes(b'docket_id,description\n1,"ends in a backslash \\"\n2,"x ""y"""\n')
    assert [r.text for r in iter_rows(path, csv_escape=False)] == ["ends in a backslash \\", 'x "y"']


def test_csv_missing_column_names_the_columns_found(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("id,docket,text\n1,2,x\n")
    with pytest.raises(InputError, match=r"'description'.*id, docket, text"):
        list(iter_rows(path))
    assert [r.text for r in iter_rows(path, text_column="text", docket_column="docket")] == ["x"]


def test_jsonl_rows(tmp_path):
    path = tmp_path / "e.jsonl.gz"
    lines = [
        b'{"text": "a", "case": "c1"}',
        b'{"text": "b", "docket_id": 7, "case": "c2"}',
        b"{not json",
        b'{"other": 1}',
        b'["list"]',
        b"",
        b'{"text": "bad \xff", "docket": "d"}',
    ]
    path.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    rows = list(iter_rows(path))
    assert rows == [
        Row("a", "c1", None, False, False),
        Row("b", "7", None, False, False),
        Row(None, None, "invalid_json", False, False),
        Row(None, None, "missing_text", False, False),
        Row(None, None, "invalid_json", False, False),
        Row("bad \ufffd", "d", None, True, False),
    ]
    assert [r.docket for r in iter_rows(path, docket_key="case")][:2] == ["c1", "c2"]


def test_text_rows_progress_counts_compressed_bytes(tmp_path):
    path = tmp_path / "e.txt.bz2"
    path.write_bytes(bz2.compress(b"one\ntwo\x00 nul\r\n\nlast"))
    seen = []
    rows = list(iter_rows(path, progress=seen.append))
    assert [(r.text, r.nul) for r in rows] == [("one", False), ("two nul", True), ("", False), ("last", False)]
    assert sum(seen) == path.stat().st_size
