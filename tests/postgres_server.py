"""The tests' PostgreSQL helpers: a server started for a test module (skipped without the binaries), and the tricky
rows of search_docketentry. The server itself is docketbert.data.synthetic.postgres_server."""

from __future__ import annotations

import contextlib
import os

from docketbert.data.synthetic.postgres_server import (
    COURTLISTENER_SCHEMA,
    INSTALL_HINT,
    PASSWORD,
    PostgresServer,
    find_bin_dir,
)

__all__ = ["COURTLISTENER_SCHEMA", "GIANT", "PASSWORD", "TRICKY", "running_server", "start_or_skip"]


@contextlib.contextmanager
def running_server():
    """A started server (pytest.skip without the binaries) with PGPASSWORD set to its password, as a user's
    environment holds it; stopped, and PGPASSWORD restored, at the end."""
    server = start_or_skip()
    old = os.environ.get("PGPASSWORD")
    os.environ["PGPASSWORD"] = PASSWORD
    try:
        yield server
    finally:
        server.stop()
        if old is None:
            os.environ.pop("PGPASSWORD", None)
        else:
            os.environ["PGPASSWORD"] = old


def start_or_skip() -> PostgresServer:
    """A started server, or pytest.skip with how to get the binaries."""
    import pytest

    bin_dir = find_bin_dir()
    if bin_dir is None:
        pytest.skip(INSTALL_HINT)
    return PostgresServer(bin_dir).start()


GIANT = "Exhibit list: " + "word " * 60_000  # a 300k-character entry

# (docket_id, description) rows of search_docketentry: every quoting and cleaning trap, spread over a few dockets
# (NULL, empty and whitespace-only texts among them).
TRICKY = [
    (900001, "ORDER granting motion\nto dismiss\non two lines"),
    (900001, "Windows line ends\r\nin an entry\r\n"),
    (900001, 'He said "hello", and ""bye""'),
    (900001, "a backslash \\ in the middle, and C:\\path\\file"),
    (900002, "a trailing backslash \\"),
    (900002, "\\."),
    (900002, "before\n\\.\nafter the end-of-data marker"),
    (900002, None),
    (900002, ""),
    (900003, "   \t  \n "),
    (900003, "non-ASCII: café – § 12 ¶ 3 — “smart quotes” 日本語 😀"),
    (900003, "control\x01characters\x07here\x1b[0m"),
    (900003, GIANT),
    (900003, "tab\tinside, comma, inside"),
    (900004, '"starts with a quote'),
    (900004, 'ends with a quote"'),
    (900004, '\\"a backslash before a quote\\"'),
    (900004, "HTML &amp; entities &lt;b&gt;"),
    (900004, "ORDER granting  MOTION\nto dismiss  on two lines"),  # a duplicate of the first, once cleaned
]
