"""A throwaway PostgreSQL server for the tests and the database benchmarks: initdb into a temporary directory,
listen on a unix socket and on a free 127.0.0.1 port, stop (by its own data directory) at the end.

initdb refuses to run as root: as root the server runs as the `postgres` user (`runuser -u postgres --`), with a
data directory and socket directory that user owns. Local socket connections are trusted (the test's own admin
connection); TCP connections need a password (scram-sha-256), so the code under test reads it from PGPASSWORD
or ~/.pgpass as a user would.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl) not found: install them (Debian/Ubuntu: "
    "apt-get install -y postgresql-15; .ci/run does it) or put their bin directory on PATH"
)
PASSWORD = "docketbert-test-password"


def find_bin_dir() -> Path | None:
    """The directory holding initdb and pg_ctl: on PATH, or Debian's /usr/lib/postgresql/<version>/bin."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """`start()` it, `stop()` it; `url(user)` is a TCP URL without a password, `admin()` a trusted connection."""

    def __init__(self, bin_dir: Path):
        self.bin_dir = bin_dir
        self.as_root = os.geteuid() == 0
        if self.as_root:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError("running as root needs a 'postgres' user to run the server as") from None
        # As root, in /tmp: the postgres user must reach it, which a private $TMPDIR may not let it.
        self.root = Path(tempfile.mkdtemp(prefix="docketbert-pg-", dir="/tmp" if self.as_root else None))
        self.data = self.root / "data"
        self.sockets = self.root / "sockets"
        self.port = _free_port()
        self.started = False

    def _run(self, *cmd: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        proc = subprocess.run([*prefix, *cmd], capture_output=True, text=True)
        if proc.returncode:
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr or proc.stdout}")

    def start(self) -> PostgresServer:
        self.sockets.mkdir()
        if self.as_root:
            shutil.chown(self.root, "postgres")
            shutil.chown(self.sockets, "postgres")
        pwfile = self.root / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if self.as_root:
            shutil.chown(pwfile, "postgres")
        self._run(
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            f"--pwfile={pwfile}",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        self.resume()
        return self

    def resume(self) -> None:
        """Start the server on its data directory (after start() made it, or after pause())."""
        options = (
            f"-c port={self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.sockets} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=64MB "
            "-c max_connections=30"
        )
        self._run(
            str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w",
            "start",
        )  # fmt: skip
        self.started = True

    def pause(self) -> None:
        """Stop the server as a crash would (immediate: every connection cut), keeping its data for resume()."""
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        self.started = False

    def stop(self) -> None:
        if self.started:
            self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
            self.started = False
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, user: str = "postgres", dbname: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{dbname}"

    def admin(self, dbname: str = "postgres", autocommit: bool = True):
        """A psycopg connection as the superuser over the trusted unix socket."""
        import psycopg

        return psycopg.connect(
            host=str(self.sockets), port=self.port, user="postgres", dbname=dbname, autocommit=autocommit
        )

    def create_database(self, name: str) -> str:
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name


# CourtListener's column types for the two tables (cl/search/models.py: DocketEntry, RECAPDocument), without
# the foreign key to search_docket, which these tests do not create; description is nullable here (CourtListener's
# is NOT NULL with default '') so that NULL, as other scrapes hold it, is tested too.
COURTLISTENER_SCHEMA = """
CREATE TABLE search_docketentry (
    id serial PRIMARY KEY,
    date_created timestamp with time zone NOT NULL DEFAULT now(),
    date_modified timestamp with time zone NOT NULL DEFAULT now(),
    date_filed date,
    time_filed time,
    entry_number bigint,
    recap_sequence_number varchar(50) NOT NULL DEFAULT '',
    pacer_sequence_number integer,
    description text,
    docket_id integer NOT NULL
);
CREATE INDEX search_docketentry_docket_id ON search_docketentry (docket_id);
CREATE TABLE search_recapdocument (
    id serial PRIMARY KEY,
    date_created timestamp with time zone NOT NULL DEFAULT now(),
    date_modified timestamp with time zone NOT NULL DEFAULT now(),
    sha1 varchar(40) NOT NULL DEFAULT '',
    page_count integer,
    file_size integer,
    filepath_local varchar(1000) NOT NULL DEFAULT '',
    filepath_ia varchar(1000) NOT NULL DEFAULT '',
    ia_upload_failure_count smallint,
    thumbnail varchar(100),
    thumbnail_status smallint NOT NULL DEFAULT 0,
    plain_text text NOT NULL DEFAULT '',
    ocr_status smallint,
    is_available boolean DEFAULT false,
    is_free_on_pacer boolean,
    is_sealed boolean,
    document_type integer NOT NULL DEFAULT 1,
    document_number varchar(32) NOT NULL DEFAULT '',
    attachment_number smallint,
    pacer_doc_id varchar(64) NOT NULL DEFAULT '',
    description text,
    acms_document_guid varchar(64) NOT NULL DEFAULT '',
    docket_entry_id integer NOT NULL REFERENCES search_docketentry (id)
);
CREATE INDEX search_recapdocument_docket_entry_id ON search_recapdocument (docket_entry_id);
"""
