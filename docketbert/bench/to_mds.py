"""to_mds from PostgreSQL against to_mds from a CSV export of the same rows, in one run.

Starts a throwaway PostgreSQL server (docketbert/data/synthetic/postgres_server.py: initdb into a temporary
directory, stopped at the end), creates CourtListener's search_docketentry, COPYs --rows synthetic entries into
it, exports them with `COPY ... TO STDOUT (FORMAT csv, HEADER, ESCAPE '\\', FORCE_QUOTE *)` (CourtListener's
format), then times:
  * reading only: every row through the database source's keyset pages, and through the CSV reader;
  * data_prep/to_mds.py end to end (clean, dedup, split, tokenize, write shards) from each, same options.
Prints rows/s and entries/s of each and the ratio database/CSV. Needs the PostgreSQL server binaries.

    python -m docketbert.bench to_mds --rows 1000000 --workers 2
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from docketbert.bench.protocols import BenchError
from docketbert.data.database import DatabaseSource
from docketbert.data.readers import iter_rows
from docketbert.data.synthetic.database import fill_courtlistener_tables
from docketbert.data.synthetic.postgres_server import (
    COURTLISTENER_SCHEMA,
    PASSWORD,
    PostgresServer,
    find_bin_dir,
)
from docketbert.data.to_mds_job import main as to_mds


def _timed(label: str, fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    print(f"  {label}: {seconds:.1f}s", flush=True)
    return seconds, result


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=1_000_000, help="entries in the table (default 1000000)")
    p.add_argument("--workers", type=int, default=2, help="to_mds tokenizer processes (default 2)")
    p.add_argument("--tokenizer", default=None, help="a tokenizer directory (default: train a 2048-token BPE)")
    p.add_argument("--max-seq-len", type=int, default=768)
    p.add_argument("--workdir", type=Path, default=None, help="where the CSV and shards go (default: a temp dir)")
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = p.parse_args(argv)
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise BenchError("PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install -y postgresql-15")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="docketbert-dbbench-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ["PGPASSWORD"] = PASSWORD
    server = PostgresServer(bin_dir).start()
    try:
        server.create_database("courtlistener")
        print(f"loading {args.rows:,} synthetic entries (COPY FROM STDIN) ...", flush=True)
        with server.admin("courtlistener") as conn:
            conn.execute(COURTLISTENER_SCHEMA)
            dockets = args.rows // 10 + 100  # about 20 entries a docket: more than enough
            fill = lambda: fill_courtlistener_tables(conn, dockets, recap=False, max_entries=args.rows)  # noqa: E731
            _, (n_rows, _) = _timed("load", fill)
            conn.execute("ANALYZE search_docketentry")
            csv_path = work / "docket-entries.csv"

            def export() -> None:
                with conn.cursor() as cur, open(csv_path, "wb") as f:
                    copy_sql = (
                        "COPY (SELECT * FROM search_docketentry ORDER BY id) TO STDOUT "
                        "(FORMAT csv, HEADER, ESCAPE '\\', FORCE_QUOTE *)"
                    )
                    with cur.copy(copy_sql) as copy:
                        for chunk in copy:
                            f.write(chunk)

            _timed("CSV export (COPY TO STDOUT)", export)
        assert n_rows == args.rows, (n_rows, args.rows)
        url = server.url(dbname="courtlistener")
        tokenizer = args.tokenizer
        if tokenizer is None:
            from docketbert.data.tokenizer_training import train_tokenizer

            texts = (r.text for _, r in zip(range(50_000), iter_rows(csv_path)))
            tokenizer = str(work / "tokenizer")
            _timed("tokenizer (2048-token BPE on 50k entries)", lambda: train_tokenizer(texts, 2048, tokenizer))

        print("reading only (no cleaning, no tokenizing):", flush=True)

        def read_db() -> int:
            src = DatabaseSource(url)
            try:
                return sum(1 for _ in src.rows())
            finally:
                src.close()

        db_read_s, db_rows = _timed("database", read_db)
        csv_read_s, csv_rows = _timed("CSV", lambda: sum(1 for _ in iter_rows(csv_path)))
        assert db_rows == csv_rows == n_rows, (db_rows, csv_rows, n_rows)

        from docketbert.core.tokenizer import load_tokenizer

        load_tokenizer(tokenizer)  # transformers' import is paid here, by neither of the two runs
        common = ["--tokenizer", tokenizer, "--max-seq-len", str(args.max_seq_len), "--workers", str(args.workers)]
        common += ["--no-progress", "--overwrite"]
        print(f"to_mds end to end (--workers {args.workers}):", flush=True)
        db_s, rc_db = _timed("database", lambda: to_mds(["--input", url, "--output", str(work / "mds_db"), *common]))
        csv_s, rc_csv = _timed(
            "CSV", lambda: to_mds(["--input", str(csv_path), "--output", str(work / "mds_csv"), *common])
        )
        assert rc_db == rc_csv == 0
        stats = {k: json.loads((work / f"mds_{k}" / "stats.json").read_text()) for k in ("db", "csv")}
        assert stats["db"]["entries"] == stats["csv"]["entries"], "the two sources gave different entries"
        entries = stats["db"]["entries"]
    finally:
        server.stop()
    result = {
        "rows": n_rows,
        "entries": entries,
        "workers": args.workers,
        "cpus": os.cpu_count(),
        "read_rows_per_s": {"database": n_rows / db_read_s, "csv": n_rows / csv_read_s},
        "to_mds_entries_per_s": {"database": entries / db_s, "csv": entries / csv_s},
        "to_mds_seconds": {"database": db_s, "csv": csv_s},
    }
    r, t = result["read_rows_per_s"], result["to_mds_entries_per_s"]
    print(
        f"\n{n_rows:,} rows, {entries:,} entries, {args.workers} workers, {os.cpu_count()} CPUs\n"
        f"read only:  database {r['database']:,.0f} rows/s, CSV {r['csv']:,.0f} rows/s, "
        f"database/CSV {r['database'] / r['csv']:.2f}\n"
        f"to_mds:     database {t['database']:,.0f} entries/s, CSV {t['csv']:,.0f} entries/s, "
        f"database/CSV {t['database'] / t['csv']:.2f}"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return result
