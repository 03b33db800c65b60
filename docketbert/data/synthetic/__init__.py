"""A generator of realistic *synthetic* US federal court docket entries (PACER / CM/ECF style).

The real docket data cannot be shipped with the project, so the demo, the tests and anyone without
``../shared/data`` use this built-in corpus instead. Everything here is invented: the texts come
from templates with slots, and every name, firm, court number, fee, receipt and date is drawn at
random. No real entry, name or case number is copied.

The corpus mimics what matters for pretraining and for the downstream tasks:

* a mix of civil (~50%), criminal (~20%) and bankruptcy (~30%) dockets of 5–60 entries each, whose
  entries follow a plausible course (complaint → appearances → motions → orders → judgment;
  indictment → initial appearance → plea → sentencing; petition → 341 meeting → discharge);
* entry numbers that increase within a docket (with the odd gap) and filing dates that never go back;
* orders, responses and certificates that cite *earlier* entries of the same docket in the usual
  CM/ECF ways ("granting 12 Motion", "re [7] Complaint", "(RE: related document(s)8 Meeting ...)",
  "(Related Doc # 44)"); :func:`find_references` extracts them;
* lengths mostly 10–120 words with a long tail to a few hundred (long text orders, indictments with
  count lists, fee applications), signatures such as "(abc) (Entered: 01/05/2009)";
* the warts of real bulk data: ~1% exact duplicate boilerplate ("Meeting of Creditors Held and
  Concluded."), HTML entities (``&amp;``) in some courts, a few multi-line and a few empty
  descriptions.

Output is a CourtListener bulk-data style ``docket-entries`` CSV (every field quoted, as
PostgreSQL ``COPY ... WITH (FORMAT csv, HEADER, FORCE_QUOTE *)`` writes it), or JSON lines in the
shape of the project's entry corpus (``text``, ``case``, ...)::

    python -m docketbert.data.synthetic synthetic.csv.gz --dockets 2000 --seed 0
    python -m docketbert.data.synthetic synthetic.jsonl.gz --dockets 300

Generation is deterministic for a seed, and docket ``i`` depends only on ``(seed, i)``: the first
``n`` dockets of a larger corpus are the corpus of ``n`` dockets.

Modules: :mod:`.vocabulary` (word pools, fixed texts), :mod:`.docket` (the state and text pieces every
docket shares, citations), :mod:`.civil`, :mod:`.criminal`, :mod:`.bankruptcy` (one docket kind each),
:mod:`.corpus` (the stream of dockets and the CSV/JSONL writers), :mod:`.cli`.
"""

from docketbert.data.synthetic.cli import main
from docketbert.data.synthetic.corpus import (
    CSV_COLUMNS,
    generate_entries,
    iter_csv_rows,
    write_courtlistener_csv,
    write_jsonl,
)
from docketbert.data.synthetic.docket import REFERENCE_RE, find_references

__all__ = [
    "CSV_COLUMNS",
    "REFERENCE_RE",
    "find_references",
    "generate_entries",
    "write_courtlistener_csv",
    "write_jsonl",
    "iter_csv_rows",
    "main",
]
