"""The corpus: dockets of every kind in one deterministic stream, as entry dicts, CSV rows or files.

Docket ``i`` of seed ``s`` draws from its own ``random.Random`` seeded by ``(s, i)``, so the first ``n``
dockets of a larger corpus are the corpus of ``n`` dockets.
"""

from __future__ import annotations

import bz2
import csv
import datetime as dt
import gzip
import io
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from docketbert.data.synthetic.bankruptcy import BankruptcyDocket
from docketbert.data.synthetic.civil import CivilDocket
from docketbert.data.synthetic.criminal import CriminalDocket
from docketbert.data.synthetic.docket import Docket
from docketbert.data.synthetic.vocabulary import MODIFIED

CSV_COLUMNS = (
    "id",
    "date_created",
    "date_modified",
    "date_filed",
    "entry_number",
    "recap_sequence_number",
    "pacer_sequence_number",
    "description",
    "docket_id",
)

# (docket class, share of the corpus)
KINDS: tuple[tuple[type[Docket], float], ...] = ((CivilDocket, 0.5), (CriminalDocket, 0.2), (BankruptcyDocket, 0.3))
_ENTITIES = (("&", "&amp;"), ("'", "&#39;"), ('"', "&quot;"))


def _pick_kind(x: float) -> type[Docket]:
    """The docket class that the uniform draw `x` falls on (the last one for rounding leftovers)."""
    for cls, p in KINDS:
        if x < p:
            return cls
        x -= p
    return KINDS[-1][0]


def _advance_clock(d: Docket) -> None:
    """Time between two entries: the same day, a few days, or now and then months."""
    rng = d.rng
    y = rng.random()
    if y < 0.35:
        return
    if y < 0.85:
        d.date += dt.timedelta(days=rng.randint(1, 14))
    else:
        d.date += dt.timedelta(days=int(rng.expovariate(1 / 60)) + 1)


def _finish_text(d: Docket, text: str) -> str:
    """The docket clerk's additions to an entry: an odd "Modified on", the "(Entered: ...)" stamp, HTML entities."""
    rng = d.rng
    entered = d.date + dt.timedelta(days=0 if rng.random() < 0.8 else rng.randint(1, 3))
    if rng.random() < 0.05:
        mod = entered + dt.timedelta(days=rng.randint(0, 5))
        text += f" Modified on {d.mdy(mod)} {rng.choice(MODIFIED)} {d.clerk_sig()}."
    if d.entered:
        text = f"{text} (Entered: {d.mmddyyyy(entered)})"
    if d.amp_escape:
        for a, b in _ENTITIES:
            text = text.replace(a, b)
    return text


def _record(d: Docket, num: int, ekind: str, label: str) -> None:
    """Remember a written entry, so that later ones can cite it (and motions wait for an order)."""
    d.filed.append((num, ekind, label))
    d.seen.add(ekind)
    if ekind == "motion":
        d.pending.append((num, label, d.movant))


def _docket_entries(seed: int, index: int) -> tuple[list[dict], int]:
    """The entries of docket `index` (without ids) and the gap to the next docket id."""
    rng = random.Random(f"docketbert-synthetic:{seed}:{index}")
    d = _pick_kind(rng.random())(rng)
    # 5-60 entries, skewed towards short dockets
    n_entries = 5 + min(55, int(rng.expovariate(1 / 16)))
    out: list[dict] = []
    seq_day, day_count = None, 0
    pacer_seq = rng.randint(1, 400) if rng.random() < 0.6 else None
    gen = d.entries(n_entries)
    for k in range(n_entries):
        if k:  # the clock moves before the entry is written; the first entry keeps the start date
            _advance_clock(d)
        item = next(gen, None)
        if item is None:
            break
        ekind, label, text = item
        d.num += 1 if k == 0 or rng.random() < 0.93 else rng.randint(2, 4)
        if ekind not in ("boiler", "empty"):
            text = _finish_text(d, text)
            _record(d, d.num, ekind, label)
        if seq_day != d.date:
            seq_day, day_count = d.date, 0
        day_count += 1
        if pacer_seq is not None:
            pacer_seq += rng.randint(1, 3)
        out.append(
            {
                "entry_number": d.num,
                "date_filed": d.date.isoformat(),
                "description": text,
                "_recap_seq": f"{d.date.isoformat()}.{day_count:03d}",
                "_pacer_seq": pacer_seq,
                "_rng_created": rng.random(),
                "_rng_modified": rng.random(),
            }
        )
    return out, rng.randint(1, 40)


def _iter_dockets(num_dockets: int, seed: int) -> Iterator[tuple[int, int, list[dict]]]:
    """(docket_id, first entry id, entries) for each docket."""
    docket_id, entry_id = 100_000 + (seed % 1000) * 1000, 1_000_000
    for i in range(num_dockets):
        entries, gap = _docket_entries(seed, i)
        yield docket_id, entry_id, entries
        docket_id += gap
        entry_id += len(entries) + gap


def generate_entries(num_dockets: int, seed: int = 0) -> Iterator[dict]:
    """Yield synthetic docket entries: dicts with ``id`` (unique int), ``docket_id`` (int),
    ``entry_number`` (increasing within a docket), ``date_filed`` ("YYYY-MM-DD", non-decreasing within a
    docket) and ``description`` (str; may be empty, multi-line, or hold HTML entities)."""
    for docket_id, eid, entries in _iter_dockets(num_dockets, seed):
        for j, e in enumerate(entries):
            yield {
                "id": eid + j,
                "docket_id": docket_id,
                "entry_number": e["entry_number"],
                "date_filed": e["date_filed"],
                "description": e["description"],
            }


def iter_csv_rows(num_dockets: int, seed: int = 0) -> Iterator[list[str]]:
    """The CSV rows (as strings, in CSV_COLUMNS order, header excluded) that `write_courtlistener_csv` writes."""
    for docket_id, eid, entries in _iter_dockets(num_dockets, seed):
        if not entries:
            continue
        last = dt.date.fromisoformat(entries[-1]["date_filed"])
        # RECAP fetched the docket some time after its last entry; a few entries were touched again later.
        crawl = dt.datetime.combine(last, dt.time()) + dt.timedelta(
            days=1 + int(entries[0]["_rng_created"] * 900), seconds=int(entries[-1]["_rng_created"] * 86000)
        )
        for j, e in enumerate(entries):
            created = crawl + dt.timedelta(seconds=j * 0.05 + e["_rng_created"] * 0.04)
            modified = created
            if e["_rng_modified"] < 0.1:
                modified += dt.timedelta(days=e["_rng_modified"] * 4000)
            yield [
                str(eid + j),
                _pg_ts(created),
                _pg_ts(modified),
                e["date_filed"],
                str(e["entry_number"]),
                e["_recap_seq"],
                "" if e["_pacer_seq"] is None else str(e["_pacer_seq"]),
                e["description"],
                str(docket_id),
            ]


def _pg_ts(t: dt.datetime) -> str:
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d} {t.hour:02d}:{t.minute:02d}:{t.second:02d}.{t.microsecond:06d}+00"


def _open_text(path: Path) -> tuple[IO[str], tuple]:
    """A text stream onto `path`, compressed by its suffix, and the raw streams to close after it."""
    name = path.name.lower()
    if name.endswith(".gz"):
        # mtime=0 and no file name in the header: the same seed gives the same bytes
        raw = open(path, "wb")  # noqa: SIM115 (closed by the caller, after the gzip stream)
        gz = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6)
        return io.TextIOWrapper(gz, encoding="utf-8", newline=""), (gz, raw)
    if name.endswith(".bz2"):
        return bz2.open(path, "wt", encoding="utf-8", newline=""), ()
    return open(path, "w", encoding="utf-8", newline=""), ()


def _write(path: str | Path, write_rows) -> int:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    f, extra = _open_text(path)
    try:
        return write_rows(f)
    finally:
        f.close()
        for x in extra:
            x.close()


def write_courtlistener_csv(path: str | Path, num_dockets: int = 2000, seed: int = 0) -> int:
    """Write `num_dockets` synthetic dockets as a CourtListener bulk-data style docket-entries CSV.

    Header: ``id,date_created,date_modified,date_filed,entry_number,recap_sequence_number,
    pacer_sequence_number,description,docket_id``; every field quoted, rows end in ``\\n`` (as PostgreSQL
    ``COPY ... FORCE_QUOTE *`` writes them); descriptions may span lines. A ``.gz`` or ``.bz2`` suffix
    compresses. Returns the number of rows written (header excluded)."""

    def rows(f: IO[str]) -> int:
        w = csv.writer(f, quoting=csv.QUOTE_ALL, lineterminator="\n")
        w.writerow(CSV_COLUMNS)
        n = 0
        for row in iter_csv_rows(num_dockets, seed):
            w.writerow(row)
            n += 1
        return n

    return _write(path, rows)


def write_jsonl(path: str | Path, num_dockets: int = 2000, seed: int = 0) -> int:
    """Write the entries of `generate_entries` as JSON lines, one entry a line, in the repo's corpus shape:
    ``text`` (the description), ``case`` (the docket, as "synthetic|<docket_id>"), ``date_filed``,
    ``entry_number`` (a string) and ``id``. A ``.gz`` or ``.bz2`` suffix compresses. Returns the number of lines."""

    def lines(f: IO[str]) -> int:
        n = 0
        for e in generate_entries(num_dockets, seed):
            f.write(
                json.dumps(
                    {
                        "text": e["description"],
                        "case": f"synthetic|{e['docket_id']}",
                        "date_filed": e["date_filed"],
                        "entry_number": str(e["entry_number"]),
                        "id": e["id"],
                    }
                )
                + "\n"
            )
            n += 1
        return n

    return _write(path, lines)
