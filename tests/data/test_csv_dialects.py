"""The CSV reader against files a real PostgreSQL 15 `COPY ... TO` wrote, in each of its quoting dialects:
every field read back exactly, the dialect detected, and an unclosed quote costing one row, not the next."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from postgres_server import start_or_skip

from docketbert.data.readers import detect_csv_escape, iter_rows

pytestmark = pytest.mark.integration  # a PostgreSQL server or several processes

# 30 rows that need every rule: quotes, backslashes inside and outside quotes, line ends inside fields,
# PostgreSQL's end-of-data marker, NULL against '', commas, and what looks like a row inside a field.
TRICKY = [
    "plain words",
    "comma, inside",
    'a "quoted" word',
    'doubled ""quotes"" already',
    '"starts with a quote',
    'ends with a quote"',
    '"',
    "back\\slash in the middle",
    "C:\\path\\to\\file.pdf",
    "a trailing backslash \\",
    "\\",
    "\\\\ two backslashes",
    '\\"a backslash before a quote\\"',
    'quote then backslash "\\',
    "\\.",
    "before\n\\.\nafter the end-of-data marker",
    "line one\nline two",
    "windows\r\nline ends\r\n",
    "a lone\rcarriage return",
    '12,34,"looks like" a row\n35,36,x',
    None,
    "",
    "   ",
    "\ttab and spaces\t ",
    "non-ASCII: café – § ¶ “quotes” 日本語 😀",
    "control \x01\x07\x1b characters",
    "trailing newline\n",
    'mixed \\" and "" and \\\\"',
    "semicolon; pipe | and 'single' quotes",
    "x" * 5000 + "\n" + "y" * 5000,
]
assert len(TRICKY) == 30

DIALECTS = {  # file name: (COPY options, the reader's dialect)
    "courtlistener": ("FORMAT csv, HEADER, ESCAPE '\\', FORCE_QUOTE *", "backslash"),
    "escape_no_force_quote": ("FORMAT csv, HEADER, ESCAPE '\\'", "backslash"),
    "default": ("FORMAT csv, HEADER", "none"),
    "default_force_quote": ("FORMAT csv, HEADER, FORCE_QUOTE *", "none"),
}


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> dict[str, Path]:
    """The 30 rows (ids 1..30, dockets 100 + id // 3) as each dialect's CSV, written by COPY ... TO STDOUT."""
    server = start_or_skip()
    out = tmp_path_factory.mktemp("copy")
    try:
        with server.admin() as conn:
            conn.execute(
                "CREATE TABLE search_docketentry (id integer PRIMARY KEY, date_filed date, "
                "description text, docket_id integer NOT NULL)"
            )
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO search_docketentry VALUES (%s, '2024-01-02', %s, %s)",
                    [(i, t, 100 + i // 3) for i, t in enumerate(TRICKY, 1)],
                )
                files = {}
                for name, (options, _) in DIALECTS.items():
                    data = bytearray()
                    with cur.copy(f"COPY (SELECT * FROM search_docketentry ORDER BY id) TO STDOUT ({options})") as cp:
                        for chunk in cp:
                            data += chunk
                    files[name] = out / f"{name}.csv"
                    files[name].write_bytes(bytes(data))
    finally:
        server.stop()
    return files


def texts(rows) -> list[str | None]:
    return [r.text for r in rows]


EXPECTED = [t or "" for t in TRICKY]  # NULL and '' both read as the empty text


@pytest.mark.parametrize("name", list(DIALECTS))
def test_every_field_reads_back_exactly(exports, name):
    path, dialect = exports[name], DIALECTS[name][1]
    assert detect_csv_escape(path) == dialect
    for escape in ("auto", dialect):
        rows = list(iter_rows(path, csv_escape=escape))
        assert texts(rows) == EXPECTED
        assert [r.docket for r in rows] == [str(100 + i // 3) for i in range(1, 31)]
        assert not any(r.drop for r in rows)
    gz = path.with_suffix(".csv.gz")
    gz.write_bytes(gzip.compress(path.read_bytes()))
    assert texts(iter_rows(gz)) == EXPECTED


def _unclose(data: bytes, row_id: int) -> bytes:
    """The export with one row's description left open: the quote that closes it is gone."""
    starts = [data.find(p) for p in (f"\n{row_id},".encode(), f'\n"{row_id}",'.encode())]
    start = max(starts)
    assert start >= 0, f"row {row_id} not found"
    ends = [data.find(p, start + 1) for p in (f"\n{row_id + 1},".encode(), f'\n"{row_id + 1}",'.encode())]
    end = max(ends) if max(ends) >= 0 else len(data)
    closing = data.rindex(b'",', start, end)  # the description's closing quote, before the docket id
    return data[:closing] + data[closing + 1 :]


@pytest.mark.parametrize("name", list(DIALECTS))
@pytest.mark.parametrize("row_id", [2, 17, 28])
def test_an_unclosed_quote_costs_one_row(exports, name, row_id, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(_unclose(exports[name].read_bytes(), row_id))
    rows = list(iter_rows(bad, csv_escape=DIALECTS[name][1]))
    assert [r.drop for r in rows].count("malformed_csv_row") == 1
    assert rows[row_id - 1].drop == "malformed_csv_row"
    assert texts(rows[:row_id - 1] + rows[row_id:]) == EXPECTED[:row_id - 1] + EXPECTED[row_id:]  # fmt: skip
    assert len(rows) == 30


def test_an_unclosed_quote_at_the_end_and_within_the_budget(exports, tmp_path):
    data = exports["courtlistener"].read_bytes()
    bad = tmp_path / "end.csv"
    bad.write_bytes(data + b'"31","2024-01-02","never closed\nand more\n')
    rows = list(iter_rows(bad))
    assert len(rows) == 31 and rows[-1].drop == "malformed_csv_row" and texts(rows[:30]) == EXPECTED
    # a budget smaller than a real multi-line field makes that field malformed, and only it
    rows = list(iter_rows(exports["default"], csv_record_budget=3000))
    assert [i for i, r in enumerate(rows) if r.drop] == [29]
    assert texts(rows[:29]) == EXPECTED[:29]


def test_to_mds_counts_the_unclosed_row(exports, tmp_path, tokenizer_dir):
    from docketbert.data.to_mds_job import main

    bad = tmp_path / "entries.csv"
    bad.write_bytes(_unclose(exports["escape_no_force_quote"].read_bytes(), 3))
    out = tmp_path / "out"
    argv = ["--input", str(bad), "--output", str(out), "--tokenizer", str(tokenizer_dir), "--workers", "1"]
    assert main([*argv, "--no-progress", "--eval-fraction", "0.5"]) == 0
    stats = json.loads((out / "stats.json").read_text())
    assert stats["rows_read"] == 30 and stats["dropped"]["malformed_csv_row"] == 1
    assert stats["inputs"][0]["csv_escape"] == "backslash"


def test_a_quote_inside_an_unquoted_field_is_data(tmp_path):
    """A quote opens a quoted field only as the field's first character; inside an unquoted field it is data, in
    either dialect: alone, several, before a quoted multi-line field on the same line. (PostgreSQL never writes such
    a field: COPY TO quotes it.) An unclosed quote at a field's start still costs its one row."""
    path = tmp_path / "hand_written.csv"
    path.write_text(
        "id,kind,description,docket_id\n"
        '1,motion,MOTION 5" thick,100\n'
        '2,order,"quoted ""as PostgreSQL writes it""",100\n'
        '3,5" x 7",say "hi" twice: "hi",101\n'
        '4,12" ruler,"multi\nline, with a comma",101\n'
        '5,x,"never closed,102\n'
        "6,x,ORDER granting,102\n"
    )
    want = [
        'MOTION 5" thick',
        'quoted "as PostgreSQL writes it"',
        'say "hi" twice: "hi"',
        "multi\nline, with a comma",
        None,
        "ORDER granting",
    ]
    for escape in ("auto", "none", "backslash"):
        rows = list(iter_rows(path, text_column="description", csv_escape=escape))
        assert texts(rows) == want, escape
        assert [r.drop for r in rows] == [None] * 4 + ["malformed_csv_row", None], escape
        assert [r.docket for r in rows] == ["100", "100", "101", "101", None, "102"], escape
