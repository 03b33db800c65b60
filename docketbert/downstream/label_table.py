"""The PostgreSQL table `python -m docketbert.infer --output postgresql://...?table=NAME` writes, and the two tables
beside it that make the job resumable and refuse to mix runs.

    NAME           entry_id bigint PRIMARY KEY, model text, label text, score real, prediction jsonb,
                   embedding real[]: one row per labelled entry (a sequence head: label and score, prediction
                   holding the probabilities or the labels; a token head: prediction {"spans": [...]}; embed: the
                   vector), `model` the fingerprint of the weights and mode that made it
    NAME_job       one row: the job (the input's select, the model's fingerprint, task, mode, pooling, max length,
                   the id width of a block). A run whose job differs is refused unless --overwrite.
    NAME_progress  block, last_id: for each block of ids (block k holds ids in [k*width, (k+1)*width)), the last id
                   read and labelled (or counted as empty). A re-run reads each block after its last_id.

A chunk's rows go through COPY into a temporary staging table and are upserted into NAME, with the blocks' progress,
in one transaction: a killed run or a lost server leaves only whole chunks, and its re-run continues after them.
Tables are created under an advisory lock, so ranks that start together create them once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from docketbert.data.database import connect, first_line
from docketbert.data.readers import InputError

DEFAULT_TABLE = "docketbert_labels"
COLUMNS = (
    ("entry_id", "bigint"),
    ("model", "text"),
    ("label", "text"),
    ("score", "real"),
    ("prediction", "jsonb"),
    ("embedding", "real[]"),
)
# format_type()'s names of COLUMNS' types, as the catalogue reports an existing table's.
CATALOGUE_TYPES = {"bigint": "bigint", "text": "text", "real": "real", "jsonb": "jsonb", "real[]": "real[]"}
LOCK_KEY = 0x646F636B  # pg_advisory_xact_lock key of table creation ("dock")


def split_output_url(url: str) -> tuple[str, str]:
    """(the connection URL, the table) of `postgresql://...?table=NAME` (default table docketbert_labels)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    tables = [v for k, v in query if k == "table"]
    rest = [(k, v) for k, v in query if k != "table"]
    table = tables[-1] if tables else DEFAULT_TABLE
    if not table or any(len(p) == 0 for p in table.split(".")) or table.count(".") > 1:
        raise InputError(f"--output ?table={table!r} is not a table name (NAME or schema.NAME)")
    return urlunsplit(parts._replace(query=urlencode(rest))), table


@dataclass
class Chunk:
    """A chunk's rows to write (entry_id, model, label, score, prediction, embedding) and the blocks it read:
    block -> last id read (labelled or empty)."""

    rows: list[tuple]
    progress: dict[int, int]


def prediction_row(entry_id: int, model: str, result: Any, task: str) -> tuple:
    """The output row of one entry's result: an embedding (task embed) or a decoded prediction."""
    if task == "embed":
        return (entry_id, model, None, None, None, [float(x) for x in result])
    return (entry_id, model, result.get("label"), result.get("score"), json.dumps(result), None)


class LabelTable:
    """The output table of one job, on its own connection (transactions, unlike the reader's autocommit)."""

    def __init__(self, url: str, table: str):
        from psycopg import sql

        self.url, self.table = url, table
        self.conn = connect(url)
        self.conn.autocommit = False
        schema, _, name = table.rpartition(".")
        ident = (schema, name) if schema else (name,)
        self.ident = sql.Identifier(*ident)
        self.job_ident = sql.Identifier(*ident[:-1], f"{name}_job")
        self.progress_ident = sql.Identifier(*ident[:-1], f"{name}_progress")

    # ----------------------------------------------------------------------------------------- the job record

    def _columns(self) -> list[tuple[str, str]] | None:
        row = self.conn.execute("SELECT to_regclass(%s)::oid", (self.table,)).fetchone()
        if row[0] is None:
            return None
        found = self.conn.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = %s AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            (row[0],),
        ).fetchall()
        return [(n, t) for n, t in found]

    def prepare(self, job: dict[str, Any], overwrite: bool, create: bool = True) -> dict[str, Any]:
        """Create the tables when missing (`create`: rank 0), refuse a table of another shape or another job's
        rows (unless `overwrite`, which empties them), and record the job; returns the job as recorded (its
        block width is the first run's)."""
        import psycopg
        from psycopg import sql

        try:
            with self.conn.transaction():
                self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
                columns = self._columns()
                want = [(n, CATALOGUE_TYPES[t]) for n, t in COLUMNS]
                if columns is None:
                    if not create:
                        raise InputError(f"--output table {self.table} does not exist (rank 0 creates it)")
                    body = sql.SQL(", ").join(sql.SQL(f"{n} {t}") for n, t in COLUMNS[1:])
                    self.conn.execute(
                        sql.SQL("CREATE TABLE {} (entry_id bigint PRIMARY KEY, {})").format(self.ident, body)
                    )
                elif columns != want:
                    shown = ", ".join(f"{n} {t}" for n, t in columns)
                    raise InputError(
                        f"--output table {self.table} exists with other columns ({shown}), not docketbert's "
                        f"({', '.join(f'{n} {t}' for n, t in want)}): name another table"
                    )
                self.conn.execute(
                    sql.SQL("CREATE TABLE IF NOT EXISTS {} (key text PRIMARY KEY, job jsonb NOT NULL)").format(
                        self.job_ident
                    )
                )
                self.conn.execute(
                    sql.SQL("CREATE TABLE IF NOT EXISTS {} (block bigint PRIMARY KEY, last_id bigint NOT NULL)").format(
                        self.progress_ident
                    )
                )
                row = self.conn.execute(
                    sql.SQL("SELECT job FROM {} WHERE key = 'job'").format(self.job_ident)
                ).fetchone()
                recorded = row[0] if row else None
                has_rows = self.conn.execute(sql.SQL("SELECT 1 FROM {} LIMIT 1").format(self.ident)).fetchone()
                if overwrite and create:
                    self.conn.execute(sql.SQL("TRUNCATE {}, {}").format(self.ident, self.progress_ident))
                    recorded = None
                elif recorded is None and has_rows:
                    raise InputError(
                        f"--output table {self.table} holds rows no recorded job wrote: --overwrite to replace them"
                    )
                if recorded is not None:
                    differs = {k: (recorded.get(k), v) for k, v in job.items() if k != "block_ids"}
                    differs = {k: v for k, v in differs.items() if v[0] != v[1]}
                    if differs:
                        what = "; ".join(f"{k} {a!r} there, {b!r} now" for k, (a, b) in differs.items())
                        raise InputError(
                            f"--output table {self.table} holds another job's rows ({what}): --overwrite to "
                            "replace them, or name another table"
                        )
                    return recorded
                if not create:
                    raise InputError(f"--output table {self.table} has no job recorded yet (rank 0 records it)")
                self.conn.execute(
                    sql.SQL(
                        "INSERT INTO {} (key, job) VALUES ('job', %s) ON CONFLICT (key) DO UPDATE SET job = %s"
                    ).format(self.job_ident),
                    (json.dumps(job), json.dumps(job)),
                )
                return job
        except psycopg.Error as err:
            raise InputError(f"--output table {self.table}: {first_line(err)}") from None

    def progress(self) -> dict[int, int]:
        """Block -> last id read, as committed."""
        from psycopg import sql

        with self.conn.transaction():
            rows = self.conn.execute(sql.SQL("SELECT block, last_id FROM {}").format(self.progress_ident)).fetchall()
        return dict(rows)

    # ----------------------------------------------------------------------------------------------- writing

    def write(self, chunk: Chunk) -> None:
        """The chunk's rows and progress, in one transaction (COPY into staging, then upsert)."""
        import psycopg
        from psycopg import sql

        names = sql.SQL(", ").join(sql.Identifier(n) for n, _ in COLUMNS)
        updates = sql.SQL(", ").join(sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(n)) for n, _ in COLUMNS[1:])
        try:
            with self.conn.transaction():
                self.conn.execute(
                    sql.SQL(
                        "CREATE TEMPORARY TABLE IF NOT EXISTS docketbert_staging (LIKE {}) ON COMMIT DELETE ROWS"
                    ).format(self.ident)
                )
                with self.conn.cursor() as cur:
                    with cur.copy(sql.SQL("COPY docketbert_staging ({}) FROM STDIN").format(names)) as copy:
                        for row in chunk.rows:
                            copy.write_row(row)
                    cur.execute(
                        sql.SQL(
                            "INSERT INTO {} ({}) SELECT {} FROM docketbert_staging ON CONFLICT (entry_id) DO UPDATE "
                            "SET {}"
                        ).format(self.ident, names, names, updates)
                    )
                    cur.executemany(
                        sql.SQL(
                            "INSERT INTO {} (block, last_id) VALUES (%s, %s) ON CONFLICT (block) DO UPDATE "
                            "SET last_id = GREATEST({}.last_id, EXCLUDED.last_id)"
                        ).format(self.progress_ident, self.progress_ident),
                        sorted(chunk.progress.items()),
                    )
        except psycopg.OperationalError as err:
            raise InputError(
                f"lost the connection to the database writing {self.table}: {first_line(err)} "
                "(nothing of the chunk was kept; run the same command again to continue)"
            ) from None

    def count(self) -> int:
        from psycopg import sql

        with self.conn.transaction():
            return self.conn.execute(sql.SQL("SELECT count(*) FROM {}").format(self.ident)).fetchone()[0]

    def close(self) -> None:
        self.conn.close()


def blocks_of(low: int, high: int, width: int, rank: int, world: int) -> Sequence[int]:
    """The blocks of ids [low, high] rank `rank` of `world` reads: every world-th block, from its own."""
    first, last = low // width, high // width
    start = first + (rank - first) % world
    return range(start, last + 1, world)
