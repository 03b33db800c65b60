"""to_mds from a real PostgreSQL server (a throwaway one, tests/postgres_server.py) with CourtListener's tables.

Checks that the shards hold the database's cleaned texts row for row, that a docket's long and short texts
(search_docketentry and search_recapdocument) stay on one side of the split, that five SIGKILLs and re-runs
give the shards of an uninterrupted run byte for byte, and that every user error is one line.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
from pathlib import Path

import pytest
from postgres_server import COURTLISTENER_SCHEMA, PASSWORD, TRICKY, running_server

from docketbert.core.text import clean_text, normalize_for_dedup
from docketbert.data.to_mds_job import eval_side, main

pytestmark = pytest.mark.integration  # a PostgreSQL server or several processes

DB = "courtlistener"
ROWS_PER_PART = 60
EVAL_FRACTION = 0.25
MAX_SEQ_LEN = 1024


@pytest.fixture(scope="module")
def pg():
    with running_server() as server:
        yield server


@pytest.fixture(scope="module")
def cl(pg):
    """The courtlistener database: synthetic dockets (5-60 entries each) and the tricky rows, both tables."""
    from docketbert.data.synthetic.database import fill_courtlistener_tables

    pg.create_database(DB)
    with pg.admin(DB) as conn:
        conn.execute(COURTLISTENER_SCHEMA)
        n_entries, n_recap = fill_courtlistener_tables(conn, num_dockets=40, seed=3)
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO search_docketentry (id, docket_id, description) VALUES (%s, %s, %s)",
                [(5_000_000 + i, d, t) for i, (d, t) in enumerate(TRICKY)],
            )
            # short descriptions of tricky entries, including ones whose docket appears only here
            cur.executemany(
                "INSERT INTO search_recapdocument (id, docket_entry_id, description) VALUES (%s, %s, %s)",
                [(800_000 + i, 5_000_000 + i, f"Main Document {i}") for i in range(0, len(TRICKY), 2)]
                + [(800_100, 5_000_007, None), (800_101, 5_000_008, "")],
            )
        conn.execute("ANALYZE")
    return {"entries": n_entries + len(TRICKY), "recap": n_recap + len(TRICKY[::2]) + 2}


def to_mds(pg, out: Path, tokenizer_dir: Path, *extra: str, url: str | None = None) -> list[str]:
    return [
        "--input",
        url or pg.url(dbname=DB),
        "--output",
        str(out),
        "--tokenizer",
        str(tokenizer_dir),
        "--eval-fraction",
        str(EVAL_FRACTION),
        "--max-seq-len",
        str(MAX_SEQ_LEN),
        "--rows-per-part",
        str(ROWS_PER_PART),
        "--workers",
        "1",
        "--no-progress",
        *extra,
    ]


def read_split(path: Path) -> list[dict]:
    from streaming import StreamingDataset

    from docketbert.data.shared_memory import registering

    with registering():
        ds = StreamingDataset(local=str(path), batch_size=1, shuffle=False)
    return [ds[i] for i in range(len(ds))]


def expected_entries(pg) -> dict[str, list[tuple[str, str]]]:
    """What the shards must hold, from the database itself: both tables in id order, cleaned, first of each
    normalised text kept, split by a hash of the docket id."""
    with pg.admin(DB) as conn:
        rows = conn.execute("SELECT docket_id, description FROM search_docketentry ORDER BY id").fetchall()
        rows += conn.execute(
            "SELECT e.docket_id, r.description FROM search_recapdocument r "
            "JOIN search_docketentry e ON e.id = r.docket_entry_id ORDER BY r.id"
        ).fetchall()
    out: dict[str, list[tuple[str, str]]] = {"train": [], "eval": []}
    seen = set()
    for docket, text in rows:
        text = clean_text(text or "")
        key = normalize_for_dedup(text)
        if not text or key in seen:
            continue
        seen.add(key)
        out["eval" if eval_side(str(docket), EVAL_FRACTION) else "train"].append((str(docket), text[:20000]))
    return out


@pytest.fixture(scope="module")
def reference(pg, cl, tokenizer_dir, tmp_path_factory) -> Path:
    """An uninterrupted run over both tables."""
    out = tmp_path_factory.mktemp("db") / "reference"
    assert main(to_mds(pg, out, tokenizer_dir, "--with-recap-descriptions")) == 0
    return out


def test_shards_hold_the_databases_cleaned_texts(pg, cl, reference, tokenizer_dir):
    from docketbert.core.tokenizer import load_tokenizer

    tokenizer = load_tokenizer(str(tokenizer_dir))
    stats = json.loads((reference / "stats.json").read_text())
    assert stats["rows_read"] == cl["entries"] + cl["recap"]
    assert [i["rows_read"] for i in stats["inputs"]] == [cl["entries"], cl["recap"]]
    assert all(i["format"] == "postgresql" and PASSWORD not in i["database"] for i in stats["inputs"])
    # NULL, '' and whitespace only, in either table, are `empty` (the synthetic dockets have a few of their own)
    with pg.admin(DB) as conn:
        texts = [t for (t,) in conn.execute("SELECT description FROM search_docketentry UNION ALL "
                                            "SELECT description FROM search_recapdocument").fetchall()]  # fmt: skip
    assert stats["dropped"]["empty"] == sum(not clean_text(t or "") for t in texts) >= 3 + 2
    assert stats["dropped"]["malformed_csv_row"] == 0
    assert stats["truncated"]["chars"] == 1  # the 300k-character entry
    expected = expected_entries(pg)
    for split in ("train", "eval"):
        samples = read_split(reference / split)
        assert len(samples) == len(expected[split]) == stats["splits"][split]["entries"] > 0
        assert [s["docket"] for s in samples] == [d for d, _ in expected[split]]
        decoded = tokenizer.batch_decode([s["input_ids"] for s in samples], skip_special_tokens=True)
        for sample, text, (_, want) in zip(samples, decoded, expected[split]):
            if len(sample["input_ids"]) < MAX_SEQ_LEN:
                assert text == want
            else:
                assert want.startswith(text)
    texts = {t for s in expected.values() for _, t in s}
    for tricky in ('He said "hello", and ""bye""', "a trailing backslash \\", "\\.", "tab inside, comma, inside"):
        assert tricky in texts
    assert "non-ASCII: café – § 12 ¶ 3 — “smart quotes” 日本語 😀" in texts


def test_a_docket_is_on_one_side_across_both_tables(pg, cl, reference):
    train, evals = (read_split(reference / s) for s in ("train", "eval"))
    assert not {s["docket"] for s in train} & {s["docket"] for s in evals}
    with pg.admin(DB) as conn:
        both = conn.execute(
            "SELECT DISTINCT e.docket_id FROM search_recapdocument r "
            "JOIN search_docketentry e ON e.id = r.docket_entry_id"
        ).fetchall()
    dockets = [str(d) for (d,) in both]
    assert len(dockets) >= 30
    sides = {d: eval_side(d, EVAL_FRACTION) for d in dockets}
    assert any(sides.values()) and not all(sides.values())  # the split cuts across dockets with short texts
    # a docket's short descriptions are written under its own id, on its own side
    short = [s for s in train + evals if s["docket"] in sides]
    assert len(short) > len(dockets)


def shard_files(out: Path) -> dict[str, bytes]:
    """Every file to_mds wrote under train/ and eval/ (not the .mds copies StreamingDataset decompresses)."""
    files = [p for s in ("train", "eval") for p in sorted((out / s).rglob("*")) if p.is_file()]
    return {str(p.relative_to(out)): p.read_bytes() for p in files if p.suffix != ".mds"}


def _run_child(args: list[str]) -> int:
    """Run to_mds in a forked child (the test process has imported everything already) and return its pid."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            import sys

            sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115
            code = main(args)
        finally:
            os._exit(code)
    return pid


def _parts(out: Path) -> int:
    return len(list((out / "parts").glob("part-*"))) if (out / "parts").exists() else 0


def test_five_kills_and_reruns_give_the_same_shards(pg, cl, reference, tokenizer_dir, tmp_path):
    out = tmp_path / "killed"
    args = to_mds(pg, out, tokenizer_dir, "--with-recap-descriptions")
    n_parts = json.loads((reference / "stats.json").read_text())["parts"]
    assert n_parts >= 15
    rng = random.Random(17)
    # five kill points spread over the job; a kill lands a few ms after its part is renamed, so a run cannot
    # overshoot into the end (a fixed wait let a fast run finish every part before its kill)
    targets = sorted(rng.sample(range(1, n_parts - 1), 5))
    for target in targets:
        target = min(max(target, _parts(out) + 1), n_parts - 1)
        pid = _run_child(args)
        deadline = time.time() + 120
        while _parts(out) < target and time.time() < deadline:
            time.sleep(0.002)
        time.sleep(rng.random() * 0.005)
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status), "the run finished before it was killed"
        assert not (out / "stats.json").exists()
    assert main(args) == 0  # the last re-run finishes the job
    assert not (out / ".tmp").exists()
    drop_timing = lambda s: {k: v for k, v in s.items() if k != "seconds_last_run"}  # noqa: E731
    assert drop_timing(json.loads((out / "stats.json").read_text())) == drop_timing(
        json.loads((reference / "stats.json").read_text())
    )
    got, want = shard_files(out), shard_files(reference)
    assert got.keys() == want.keys() and len(got) > 2 * n_parts
    assert got == want


def test_other_schemas_by_table_columns_or_query(pg, cl, tokenizer_dir, tmp_path):
    with pg.admin(DB) as conn:
        conn.execute("CREATE SCHEMA scrape")
        conn.execute("CREATE TABLE scrape.filings (filing_no bigint PRIMARY KEY, body text, case_no text)")
        conn.execute(
            "INSERT INTO scrape.filings SELECT g, 'filing number ' || g || ' in case ' || (g % 7), "
            "'case-' || (g % 7) FROM generate_series(1, 150) g"
        )
    cols = ["--text-column", "body", "--docket-column", "case_no", "--id-column", "filing_no"]
    out = tmp_path / "table"
    assert main(to_mds(pg, out, tokenizer_dir, "--table", "scrape.filings", *cols)) == 0
    stats = json.loads((out / "stats.json").read_text())
    assert stats["rows_read"] == stats["entries"] == 150
    assert stats["splits"]["train"]["dockets"] + stats["splits"]["eval"]["dockets"] == 7
    query = "SELECT filing_no, body, case_no FROM scrape.filings WHERE filing_no <= 100"
    out = tmp_path / "query"
    assert main(to_mds(pg, out, tokenizer_dir, "--query", query, *cols)) == 0
    stats = json.loads((out / "stats.json").read_text())
    assert stats["rows_read"] == stats["entries"] == 100


def test_row_estimate_comes_from_pg_class(pg, cl):
    from docketbert.data.database import DatabaseSource

    src = DatabaseSource(pg.url(dbname=DB), recap_descriptions=True)
    try:
        assert src.estimate_rows() == cl["entries"] + cl["recap"] == src.count_rows()  # analysed: exact here
    finally:
        src.close()


def _error(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return err


def test_user_errors_are_one_line(pg, cl, tokenizer_dir, tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    args = lambda *a, url=None: to_mds(pg, out, tokenizer_dir, *a, url=url)  # noqa: E731
    # nothing listens on the port
    closed = pg.url(dbname=DB).replace(str(pg.port), str(pg.port + 1 if pg.port < 65535 else 1))
    err = _error(capsys, args(url=closed))
    assert "cannot connect" in err and "127.0.0.1" in err and "postgres" in err
    # a wrong password, and none
    monkeypatch.setenv("PGPASSWORD", "wrong")
    err = _error(capsys, args())
    assert "authentication failed" in err and "PGPASSWORD" in err
    monkeypatch.delenv("PGPASSWORD")
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-pgpass"))
    assert "authentication failed" in _error(capsys, args())
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    # a password in the URL
    err = _error(capsys, args(url=pg.url(dbname=DB).replace("postgres@", f"postgres:{PASSWORD}@")))
    assert "PGPASSWORD" in err and PASSWORD not in err
    # a missing table lists the tables; a missing column lists the columns
    err = _error(capsys, args("--table", "docket_entries"))
    assert "'docket_entries'" in err and "search_docketentry" in err and "search_recapdocument" in err
    err = _error(capsys, args("--text-column", "text"))
    assert "'text'" in err and "--text-column" in err and "description, docket_id" in err
    # no SELECT privilege
    with pg.admin(DB) as conn:
        conn.execute("CREATE ROLE reader LOGIN PASSWORD 'reader-pw'")
    monkeypatch.setenv("PGPASSWORD", "reader-pw")
    err = _error(capsys, args(url=pg.url(user="reader", dbname=DB)))
    assert "permission denied" in err and "reader" in err and "GRANT SELECT" in err
    assert not out.exists()
