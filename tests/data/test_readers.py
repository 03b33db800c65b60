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
    rows = list(iter_rows(path, csv_escape="backslash"))
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


def test_cr_only_line_ends(tmp_path):
    path = tmp_path / "mac.csv"
    path.write_bytes(b'docket_id,description\r1,"a\rb, c"\r2,plain\r3,"last"')
    assert [(r.docket, r.text) for r in iter_rows(path)] == [("1", "a\rb, c"), ("2", "plain"), ("3", "last")]
    path = tmp_path / "mac.txt"
    path.write_bytes(b"one\rtwo\r\rthree")
    assert [r.text for r in iter_rows(path)] == ["one", "two", "", "three"]


@pytest.mark.parametrize("suffix", [".gz", ".bz2", ".xz"])
def test_truncated_or_corrupt_compressed_input_is_an_input_error(tmp_path, suffix):
    import lzma

    compress = {".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress}[suffix]
    data = compress(b"".join(b'{"text": "entry %d", "case": "c"}\n' % i for i in range(20000)))
    path = tmp_path / f"e.jsonl{suffix}"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=rf"e\.jsonl\{suffix}: the \{suffix} file is truncated or corrupt"):
        list(iter_rows(path))
    path.write_bytes(data[:40] + bytes(range(256)) * 8 + data[40:])
    with pytest.raises(InputError, match="truncated or corrupt"):
        list(iter_rows(path))


def test_a_lone_surrogate_is_invalid_unicode(tmp_path):
    path = tmp_path / "e.jsonl"
    path.write_text(
        '{"text": "lone \\ud800 surrogate", "case": "c"}\n'
        '{"text": "a pair \\ud83d\\ude00 is fine", "case": "c"}\n'
        '{"text": "docket is bad", "case": "\\udfff"}\n'
    )
    rows = list(iter_rows(path))
    assert [r.drop for r in rows] == ["invalid_unicode", None, "invalid_unicode"]
    assert rows[1].text == "a pair \U0001f600 is fine"


def test_csv_dialect_detection_and_the_escape_outside_quotes(tmp_path):
    from docketbert.data.readers import detect_csv_escape

    path = tmp_path / "e.csv"
    # ESCAPE '\' without FORCE_QUOTE: the unquoted backslashes are characters, the quoted ones escapes
    path.write_bytes(b'id,docket_id,description\n1,7,C:\\dir\\\n2,7,"say \\"hi\\", \\\\o/"\n')
    assert detect_csv_escape(path) == "backslash"
    assert [r.text for r in iter_rows(path)] == ["C:\\dir\\", 'say "hi", \\o/']
    # PostgreSQL's default: doubled quotes, and a backslash before a closing quote is a character
    path.write_bytes(b'id,docket_id,description\n1,7,"say ""hi"", \\"\n2,7,"ends in \\"\n')
    assert detect_csv_escape(path) == "none"
    assert [r.text for r in iter_rows(path)] == ['say "hi", \\', "ends in \\"]
    with pytest.raises(InputError, match="unknown CSV escape"):
        list(iter_rows(path, csv_escape="maybe"))


def test_an_unclosed_quote_keeps_the_rows_after_it(tmp_path):
    # as infer reads a CSV (no docket column): 40 records, the 5th with a quote that never closes
    rows = [f'{i},"Entry number {i}, ""quoted"", on\ntwo lines"' for i in range(1, 41)]
    rows[4] = '5,"Entry number 5 never closes'
    path = tmp_path / "entries.csv"
    path.write_text("id,description\n" + "\n".join(rows) + "\n")
    got = list(iter_rows(path, docket_column=None))
    assert len(got) == 40 and [r.drop for r in got].count("malformed_csv_row") == 1 and got[4].drop
    assert got[5].text == 'Entry number 6, "quoted", on\ntwo lines' and got[39].text.startswith("Entry number 40,")
    # one line a row: the unclosed quote closes on the next row's opening quote, so that row was merged into it
    rows = [f'{i},"Entry number {i}"' for i in range(1, 41)]
    rows[4] = '5,"Entry number 5 never closes'
    path.write_text("id,description\n" + "\n".join(rows) + "\n")
    got = list(iter_rows(path, docket_column=None))
    assert [r.drop for r in got] == [None] * 4 + ["malformed_csv_row"] + [None] * 35
    assert [r.text for r in got[5:]] == [f"Entry number {i}" for i in range(6, 41)]
