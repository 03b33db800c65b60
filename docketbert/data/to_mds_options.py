"""The options of one to_mds job: a typed, checked value built from the command line (`parse_options`) or in
code (`ToMdsOptions(...)`), so the job reads fields, never an argparse Namespace."""

from __future__ import annotations

import argparse
import os
from dataclasses import asdict, dataclass, fields

from docketbert.core.object_store import is_remote
from docketbert.data.database import RECAP_TABLE, add_source_arguments, is_database_url
from docketbert.data.readers import CSV_ESCAPES, CSV_RECORD_BUDGET, FORMATS

DEFAULT_EVAL_FRACTION = 0.015

# The options a finished output depends on: the manifest records them, and a re-run with others is refused.
RESULT_OPTIONS = (
    "text_column",
    "docket_column",
    "csv_escape",
    "csv_max_record_chars",
    "text_key",
    "docket_key",
    "table",
    "id_column",
    "query",
    "with_recap_descriptions",
    "tokenizer",
    "max_seq_len",
    "max_chars",
    "eval_fraction",
    "eval_size",
    "rows_per_part",
)


@dataclass(frozen=True)
class ToMdsOptions:
    """Every setting of a to_mds job; the field names are the command line's (`--max-seq-len` is
    `max_seq_len`). An invalid combination raises `ValueError` naming the flag."""

    inputs: tuple[str, ...]
    output: str
    local: str | None = None  # the staging folder of a remote output
    format: str | None = None
    overwrite: bool = False
    progress: bool = True
    strict: bool = False
    text_column: str = "description"
    docket_column: str = "docket_id"  # '' for none: every entry is its own docket
    csv_escape: str = "auto"
    csv_max_record_chars: int = CSV_RECORD_BUDGET
    text_key: str = "text"
    docket_key: str | None = None
    table: str | None = None
    id_column: str = "id"
    query: str | None = None
    with_recap_descriptions: bool = False
    tokenizer: str = "answerdotai/ModernBERT-base"
    max_seq_len: int = 768
    max_chars: int = 20000
    workers: int = min(os.cpu_count() or 1, 8)
    eval_fraction: float | None = None  # None with eval_size None: DEFAULT_EVAL_FRACTION
    eval_size: int | None = None
    rows_per_part: int = 1_000_000

    def __post_init__(self):
        object.__setattr__(self, "inputs", tuple(self.inputs))
        if self.eval_fraction is None and self.eval_size is None:
            object.__setattr__(self, "eval_fraction", DEFAULT_EVAL_FRACTION)
        problem = self._problem()
        if problem:
            raise ValueError(problem)

    def _problem(self) -> str | None:
        if not self.inputs:
            return "--input needs at least one file or a database URL"
        if self.eval_fraction is not None and self.eval_size is not None:
            return "--eval-fraction and --eval-size exclude each other"
        if self.eval_fraction is not None and not 0.0 <= self.eval_fraction <= 1.0:
            return "--eval-fraction must be in [0, 1]"
        if self.eval_size is not None and self.eval_size < 0:
            return "--eval-size must be >= 0"
        if self.max_seq_len < 3 or self.max_chars < 1 or self.rows_per_part < 1 or self.workers < 1:
            return "--max-seq-len must be >= 3; --max-chars, --rows-per-part and --workers >= 1"
        if self.local is not None and not is_remote(self.output):
            return "--local is the staging folder of a remote --output (s3://...): give it only with one"
        if self.csv_max_record_chars < 1:
            return "--csv-max-record-chars must be >= 1"
        if self.format is not None and self.format not in FORMATS:
            return f"--format must be one of {', '.join(FORMATS)}"
        if self.csv_escape not in CSV_ESCAPES:
            return f"--csv-escape must be one of {', '.join(CSV_ESCAPES)}"
        if self.database and len(self.inputs) > 1:
            return "a database URL is read alone: give it as the only --input"
        if not self.database and (self.table or self.query or self.with_recap_descriptions):
            return "--table, --query and --with-recap-descriptions need a database --input (postgresql://...)"
        return None

    @property
    def database(self) -> str | None:
        """The database URL when the input is one."""
        return self.inputs[0] if self.inputs and is_database_url(self.inputs[0]) else None

    @property
    def docket(self) -> str | None:
        """The docket column, or None for none."""
        return self.docket_column or None

    def reader_options(self) -> dict:
        """The file readers' keyword arguments (docketbert.data.readers.iter_rows), less the CSV dialect."""
        return {
            "text_column": self.text_column,
            "docket_column": self.docket,
            "text_key": self.text_key,
            "docket_key": self.docket_key,
            "csv_record_budget": self.csv_max_record_chars,
        }

    def result_options(self) -> dict:
        """The options the manifest records (RESULT_OPTIONS)."""
        values = asdict(self)
        return {k: values[k] for k in RESULT_OPTIONS}


def build_parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="to_mds.py", description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    d = {f.name: f.default for f in fields(ToMdsOptions) if f.name not in ("inputs", "output", "local")}
    io = p.add_argument_group("inputs and outputs")
    io.add_argument(
        "--input",
        dest="inputs",
        nargs="+",
        required=True,
        metavar="FILE",
        help="input files, read in the order given (.csv/.jsonl/.txt, optionally .gz/.bz2/.xz), or one "
        "PostgreSQL URL postgresql://user@host:port/dbname (the password from PGPASSWORD or ~/.pgpass)",
    )
    io.add_argument(
        "--output",
        required=True,
        help="output directory (see 'Output layout' above), or a remote s3://bucket/prefix (S3 or an S3-compatible "
        "store at S3_ENDPOINT_URL; credentials from the environment or ~/.aws): each part is uploaded as it finishes",
    )
    io.add_argument(
        "--local",
        default=None,
        metavar="DIR",
        help="staging folder of a remote --output, on local disk (default: one under the system's temporary folder); "
        "it holds about one part at a time",
    )
    io.add_argument("--format", choices=FORMATS, help="format of every input (default: from each extension)")
    io.add_argument(
        "--overwrite", action="store_true", help="delete this tool's earlier output in --output and start over"
    )
    io.add_argument(
        "--no-progress",
        dest="progress",
        action="store_false",
        help="no progress bar (over input bytes, or database rows)",
    )
    io.add_argument("--strict", action="store_true", help="exit with an error (code 3) when a split comes out empty")
    cols = p.add_argument_group("input fields")
    cols.add_argument(
        "--text-column",
        default=d["text_column"],
        help=f"CSV or database column with the entry text (default: {d['text_column']})",
    )
    cols.add_argument(
        "--docket-column",
        default=d["docket_column"],
        help=f"CSV or database column with the docket id (default: {d['docket_column']}); '' for none (each "
        "entry its own docket)",
    )
    cols.add_argument(
        "--csv-escape",
        choices=CSV_ESCAPES,
        default=d["csv_escape"],
        help="the CSV quoting of PostgreSQL's COPY: 'none' (its default: a quote in a quoted field is doubled, "
        "a backslash is a character), 'backslash' (ESCAPE '\\', CourtListener's exports: \\\" and \\\\ "
        "inside quotes; outside quotes a backslash is a character), or 'auto' (default: detected from the "
        "file's first MiB; the choice is in stats.json)",
    )
    cols.add_argument(
        "--no-csv-escape",
        dest="csv_escape",
        action="store_const",
        const="none",
        help="the same as --csv-escape none",
    )
    cols.add_argument(
        "--csv-max-record-chars",
        type=int,
        default=d["csv_max_record_chars"],
        help="characters a CSV record may span; a quote still open after them (or before a line that reads as "
        f"a new row) makes the record one malformed_csv_row (default {d['csv_max_record_chars']})",
    )
    cols.add_argument(
        "--text-key", default=d["text_key"], help=f"JSONL key with the entry text (default: {d['text_key']})"
    )
    cols.add_argument(
        "--docket-key",
        default=None,
        help="JSONL key with the docket id (default: first present of docket_id, case, docket)",
    )
    db = p.add_argument_group("database input (--input postgresql://...)")
    add_source_arguments(db, "the --id-column, --text-column and --docket-column")
    db.add_argument(
        "--with-recap-descriptions",
        action="store_true",
        help=f"also read {RECAP_TABLE}.description (the short descriptions), each on the docket of its entry "
        "(joined through docket_entry_id), after the entries",
    )
    tok = p.add_argument_group("tokenization")
    tok.add_argument(
        "--tokenizer",
        default=d["tokenizer"],
        help=f"HF hub name (needs a network) or local tokenizer directory (default: {d['tokenizer']})",
    )
    tok.add_argument(
        "--max-seq-len",
        type=int,
        default=d["max_seq_len"],
        help=f"tokens per entry, [CLS] and [SEP] included; longer entries are truncated (default {d['max_seq_len']})",
    )
    tok.add_argument(
        "--max-chars",
        type=int,
        default=d["max_chars"],
        help="characters kept per entry before tokenizing, so a giant entry cannot stall a worker "
        f"(default {d['max_chars']})",
    )
    tok.add_argument(
        "--workers",
        type=int,
        default=d["workers"],
        help="tokenizer processes; 1 tokenizes in the main process (default min(cpus, 8))",
    )
    split = p.add_argument_group("train/eval split (by docket)").add_mutually_exclusive_group()
    split.add_argument(
        "--eval-fraction",
        type=float,
        default=None,
        help=f"fraction of dockets (by a hash of the docket id) that go to eval (default {DEFAULT_EVAL_FRACTION})",
    )
    split.add_argument(
        "--eval-size",
        type=int,
        default=None,
        help="about this many eval entries: a first pass counts the input rows R and the eval "
        "fraction becomes N/R (fewer entries end up in eval when rows are dropped)",
    )
    p.add_argument(
        "--rows-per-part",
        type=int,
        default=d["rows_per_part"],
        help=f"input rows per resumable part (default {d['rows_per_part']})",
    )
    return p


def parse_options(argv: list[str] | None, description: str) -> ToMdsOptions:
    """The command line's options; a bad value or combination exits 2 with argparse's one-line error."""
    p = build_parser(description)
    try:
        return ToMdsOptions(**vars(p.parse_args(argv)))
    except ValueError as err:
        p.error(str(err))
