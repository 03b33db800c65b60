"""Synthetic dockets as rows of CourtListener's two docket-entry tables, loaded with COPY FROM STDIN.

`search_docketentry` rows come from `generate_entries` (the same ids, dockets and texts as the CSV and JSONL
writers); about half the entries get one or two `search_recapdocument` rows, whose short descriptions are the
first words of their entry's text (how RECAP's document descriptions read), numbered as attachments.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from itertools import islice

from docketbert.data.synthetic.corpus import generate_entries

ENTRY_COLUMNS = ("id", "docket_id", "entry_number", "date_filed", "description")
RECAP_COLUMNS = ("id", "docket_entry_id", "document_number", "attachment_number", "description")


def recap_rows(entries: list[tuple[int, int, list[str]]], seed: int, first_id: int = 1) -> Iterator[tuple]:
    """(id, docket_entry_id, document_number, attachment_number, description) for some of `entries`, given as
    (entry id, entry number, the entry text's first words)."""
    rng = random.Random(f"docketbert-recap:{seed}")
    rid = first_id
    for entry_id, number, words in entries:
        if rng.random() >= 0.5:
            continue
        for attachment in range(1 + (rng.random() < 0.3)):
            text = " ".join(words[: rng.randint(2, 8)]) if attachment == 0 else f"Exhibit {rng.randint(1, 12)}"
            yield rid, entry_id, str(number), attachment or None, text
            rid += 1


def fill_courtlistener_tables(
    conn, num_dockets: int, seed: int = 0, recap: bool = True, max_entries: int | None = None
) -> tuple[int, int]:
    """COPY `num_dockets` synthetic dockets (their first `max_entries` entries, when given) into search_docketentry
    and, with `recap`, search_recapdocument; the tables must exist. Returns (entry rows, recap rows)."""
    n_entries = n_recap = 0
    batch: list[tuple[int, int, list[str]]] = []
    with conn.cursor() as cur:
        with cur.copy(f"COPY search_docketentry ({', '.join(ENTRY_COLUMNS)}) FROM STDIN") as copy:
            for e in islice(generate_entries(num_dockets, seed), max_entries):
                copy.write_row(tuple(e[c] for c in ENTRY_COLUMNS))
                n_entries += 1
                if recap:
                    batch.append((e["id"], e["entry_number"], e["description"].split(maxsplit=8)[:8]))
        if recap:
            with cur.copy(f"COPY search_recapdocument ({', '.join(RECAP_COLUMNS)}) FROM STDIN") as copy:
                for row in recap_rows(batch, seed):
                    copy.write_row(row)
                    n_recap += 1
    return n_entries, n_recap
