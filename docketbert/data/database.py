"""Docket entries read from PostgreSQL (psycopg 3), in keyset pages ordered by id.

By default the source is CourtListener's `search_docketentry` (`id`, `docket_id`, `description`); with
`recap_descriptions` it also reads the short descriptions of `search_recapdocument`, each joined through
`docket_entry_id` to its entry's docket, so a docket's long and short texts share one docket id (and one side
of the split). Other schemas name their table and columns, or give a query.

Rows come as the readers' `Row`s (a NULL text is the empty text), one stream per table, each ordered by its id
column. Each page is one statement (`WHERE id > last ORDER BY id LIMIT n`), so nothing holds a transaction
open, and where a read stopped is an (stream, id) position: the conversion's parts are id ranges.

The password comes from PGPASSWORD or ~/.pgpass (libpq reads them); a URL with a password in it is refused,
since a command line is visible to every user of the machine. Every failure a user can cause (no server, a
wrong password, a missing table or column, no SELECT privilege) is an `InputError` of one line.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from docketbert.data.readers import InputError, Row

URL_SCHEMES = ("postgresql://", "postgres://")
DEFAULT_TABLE = "search_docketentry"
RECAP_TABLE = "search_recapdocument"
PAGE_ROWS = 10_000


def is_database_url(name: str) -> bool:
    return name.startswith(URL_SCHEMES)


def add_source_arguments(p, returns: str) -> None:
    """The database-input flags of every command that reads entries from PostgreSQL (to_mds, infer) onto the
    argparse group `p`; `returns` names the columns a --query must return."""
    p.add_argument("--table", default=None, help=f"table to read (default: {DEFAULT_TABLE}); schema.table works")
    p.add_argument("--id-column", default="id", help="unique, ordered key the pages follow (default: id)")
    p.add_argument("--query", default=None, help=f"an SQL query instead of --table; it must return {returns}")


@dataclass(frozen=True)
class Stream:
    """One ordered stream of rows: `select` lists the id, docket and text (in that order) of `source`."""

    name: str  # how the stats and the manifest name it
    source: object  # a psycopg sql Composable: a table, or a query as a subquery
    id_column: str
    select: object  # sql Composable selecting (id, docket, text) FROM source


def _conninfo(url: str) -> dict:
    from psycopg.conninfo import conninfo_to_dict

    try:
        info = conninfo_to_dict(url)
    except Exception as err:  # psycopg.ProgrammingError: a URL libpq cannot parse
        raise InputError(f"cannot read the database URL {url!r}: {first_line(err)}") from None
    if info.get("password"):
        raise InputError(
            "the database URL holds a password: remove it and set PGPASSWORD or a ~/.pgpass line instead "
            "(a command line is visible to every user of the machine)"
        )
    return info


def first_line(err: BaseException) -> str:
    text = str(err).strip()
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("HINT", "DETAIL", "Is the server")):
            return line.removeprefix("connection failed: ")
    return type(err).__name__


def redact(url: str) -> str:
    """The URL without a password (for logs, the manifest and the stats)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}@{netloc[-1]}"))


def connect(url: str):
    """A psycopg connection (autocommit: each page is its own statement), or `InputError` saying why not."""
    import psycopg

    info = _conninfo(url)
    host = info.get("host") or os.environ.get("PGHOST") or "localhost (unix socket)"
    port = info.get("port") or os.environ.get("PGPORT") or "5432"
    user = info.get("user") or os.environ.get("PGUSER") or getpass.getuser()
    dbname = info.get("dbname") or os.environ.get("PGDATABASE") or user
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as err:
        reason = first_line(err)
        low = str(err).lower()
        if "password authentication failed" in low or "no password supplied" in low or "authentication" in low:
            raise InputError(
                f"PostgreSQL authentication failed for user {user!r} at {host}:{port}: set PGPASSWORD or add "
                f"a ~/.pgpass line (host:port:database:user:password) ({reason})"
            ) from None
        if "does not exist" in low and "database" in low:
            raise InputError(f"PostgreSQL at {host}:{port}: {reason}") from None
        raise InputError(
            f"cannot connect to PostgreSQL at {host}:{port} as user {user!r} (database {dbname!r}): {reason}"
        ) from None


class DatabaseSource:
    """The streams of one database input and the pages that read them."""

    def __init__(
        self,
        url: str,
        *,
        table: str | None = None,
        text_column: str = "description",
        docket_column: str | None = "docket_id",
        id_column: str = "id",
        query: str | None = None,
        recap_descriptions: bool = False,
        page_rows: int = PAGE_ROWS,
    ):
        if query and (table or recap_descriptions):
            raise InputError("--query replaces --table and --with-recap-descriptions: give one or the other")
        self.url = url
        self.page_rows = page_rows
        self.conn = connect(url)
        self.user = self.conn.info.user
        self.streams = self._streams(table or DEFAULT_TABLE, text_column, docket_column, id_column, query)
        if recap_descriptions:
            self.streams.append(self._recap_stream(table or DEFAULT_TABLE, docket_column, id_column))
        self.position: tuple[int, object] | None = None  # (stream, last id) of the last row handed out

    # ------------------------------------------------------------------------------------ checking the schema

    def _tables(self) -> list[str]:
        rows = self.conn.execute(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1, 2"
        ).fetchall()
        return [name if schema == "public" else f"{schema}.{name}" for schema, name in rows]

    def _table(self, table: str):
        """The table as an sql.Identifier, and its oid; `InputError` listing the tables when it is missing."""
        from psycopg import sql

        oid = self.conn.execute("SELECT to_regclass(%s)::oid", (table,)).fetchone()[0]
        if oid is None:
            tables = self._tables()
            listed = ", ".join(tables[:60]) + (f" ... ({len(tables)} in all)" if len(tables) > 60 else "")
            raise InputError(
                f"no table {table!r} in database {self.conn.info.dbname!r} (--table); "
                f"the tables are: {listed or '(none)'}"
            )
        return sql.Identifier(*table.split(".")), oid

    def _columns(self, oid) -> list[str]:
        rows = self.conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            (oid,),
        ).fetchall()
        return [r[0] for r in rows]

    def _check_columns(self, what: str, found: list[str], wanted: list[tuple[str, str]]) -> None:
        for flag, column in wanted:
            if column not in found:
                raise InputError(f"{what} has no column {column!r} ({flag}); its columns are: {', '.join(found)}")

    def _probe(self, stream: Stream) -> None:
        """Run the stream's select on no rows: a permission or query error shows now, as one line."""
        import psycopg
        from psycopg import sql

        try:
            self.conn.execute(sql.SQL("{} LIMIT 0").format(stream.select))
        except psycopg.errors.InsufficientPrivilege as err:
            raise InputError(
                f"permission denied reading {stream.name} as user {self.user!r}: {first_line(err)} "
                f"(a superuser can GRANT SELECT ON {stream.name} TO {self.user})"
            ) from None
        except psycopg.Error as err:
            raise InputError(f"the query for {stream.name} failed: {first_line(err)}") from None

    def _streams(self, table, text_column, docket_column, id_column, query) -> list[Stream]:
        import psycopg
        from psycopg import sql

        docket = sql.Identifier(docket_column) if docket_column else sql.NULL
        wanted = [("--id-column", id_column), ("--text-column", text_column)]
        wanted += [("--docket-column", docket_column)] if docket_column else []
        if query:
            source = sql.SQL("({}) AS q").format(sql.SQL(query))
            try:
                cur = self.conn.execute(sql.SQL("SELECT * FROM {} LIMIT 0").format(source))
            except psycopg.errors.InsufficientPrivilege as err:
                reason = first_line(err)
                raise InputError(f"permission denied running --query as user {self.user!r}: {reason}") from None
            except psycopg.Error as err:
                raise InputError(f"--query failed: {first_line(err)}") from None
            self._check_columns("--query", [d.name for d in cur.description], wanted)
            name = "query"
        else:
            ident, oid = self._table(table)
            self._check_columns(f"table {table!r}", self._columns(oid), wanted)
            source, name = ident, table
        select = sql.SQL("SELECT {}, {}, {} FROM {}").format(
            sql.Identifier(id_column), docket, sql.Identifier(text_column), source
        )
        stream = Stream(name, source, id_column, select)
        self._probe(stream)
        return [stream]

    def _recap_stream(self, table: str, docket_column: str | None, id_column: str) -> Stream:
        from psycopg import sql

        ident, oid = self._table(RECAP_TABLE)
        self._check_columns(
            f"table {RECAP_TABLE!r}",
            self._columns(oid),
            [("--with-recap-descriptions", c) for c in ("id", "description", "docket_entry_id")],
        )
        entries = sql.Identifier(*table.split("."))
        docket = sql.SQL("e.{}").format(sql.Identifier(docket_column)) if docket_column else sql.NULL
        source = sql.SQL("{} AS r LEFT JOIN {} AS e ON e.{} = r.docket_entry_id").format(
            ident, entries, sql.Identifier(id_column)
        )
        select = sql.SQL("SELECT r.id, {}, r.description FROM {}").format(docket, source)
        stream = Stream(RECAP_TABLE, source, "r.id", select)
        self._probe(stream)
        return stream

    # ------------------------------------------------------------------------------------------- reading

    def describe(self) -> list[dict]:
        """The manifest's record of each stream (the URL without a password)."""
        return [{"database": redact(self.url), "stream": s.name, "select": s.select.as_string(self.conn)}
                for s in self.streams]  # fmt: skip

    def estimate_rows(self) -> int | None:
        """The planner's row estimate (pg_class.reltuples) summed over the streams' tables; None when a table
        was never analysed or a stream is a query."""
        total = 0
        for s in self.streams:
            if s.name == "query":
                return None
            est = self.conn.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)", (s.name,))
            n = est.fetchone()[0]
            if n is None or n < 0:
                return None
            total += n
        return total

    def count_rows(self) -> int:
        from psycopg import sql

        return sum(
            self.conn.execute(sql.SQL("SELECT count(*) FROM ({}) AS c").format(s.select)).fetchone()[0]
            for s in self.streams
        )

    def _key(self, stream: Stream):
        from psycopg import sql

        if "." in stream.id_column:
            return sql.SQL(".").join(sql.Identifier(p) for p in stream.id_column.split("."))
        return sql.Identifier(stream.id_column)

    def id_range(self, stream_index: int = 0) -> tuple[object, object]:
        """The smallest and largest id of one stream ((None, None) when it is empty)."""
        import psycopg
        from psycopg import sql

        stream = self.streams[stream_index]
        key = self._key(stream)
        q = sql.SQL("SELECT min({}), max({}) FROM {}").format(key, key, stream.source)
        try:
            return tuple(self.conn.execute(q).fetchone())
        except psycopg.OperationalError as err:
            raise InputError(f"lost the connection to the database reading {stream.name}: {first_line(err)}") from None

    def pages(self, stream_index: int, after, below=None) -> Iterator[list[tuple]]:
        """(id, docket, text) rows of one stream with id > `after` (all when None) and id < `below` (when given),
        a page at a time."""
        import psycopg
        from psycopg import sql

        stream = self.streams[stream_index]
        key = self._key(stream)
        while True:
            bounds = [(sql.SQL("{} > %s").format(key), after), (sql.SQL("{} < %s").format(key), below)]
            bounds = [(clause, value) for clause, value in bounds if value is not None]
            where = sql.SQL(" WHERE ") + sql.SQL(" AND ").join(c for c, _ in bounds) if bounds else sql.SQL("")
            q = sql.SQL("{}{} ORDER BY {} LIMIT %s").format(stream.select, where, key)
            params = (*(v for _, v in bounds), self.page_rows)
            try:
                rows = self.conn.execute(q, params).fetchall()
            except psycopg.OperationalError as err:
                reason = first_line(err)
                raise InputError(f"lost the connection to the database reading {stream.name}: {reason}") from None
            if not rows:
                return
            yield rows
            after = rows[-1][0]
            if len(rows) < self.page_rows:
                return

    def rows(self, start: tuple[int, object] | None = None, progress: Callable[[int], None] | None = None):
        """(stream index, Row) for every row after `start` = (stream, last id), in stream then id order;
        `self.position` follows the last row handed out."""
        first_stream, after = start if start is not None else (0, None)
        for s in range(first_stream, len(self.streams)):
            for page in self.pages(s, after if s == first_stream else None):
                if progress is not None:
                    progress(len(page))
                for row_id, docket, text in page:
                    self.position = (s, row_id)
                    yield s, Row(text or "", None if docket is None else str(docket), None, False, False)

    def close(self) -> None:
        self.conn.close()
