"""``python -m docketbert.data.synthetic OUTPUT [--dockets N] [--seed S] [--format csv|jsonl]``."""

from __future__ import annotations

import argparse
import sys

from docketbert.data.synthetic.corpus import write_courtlistener_csv, write_jsonl


def _format(path: str) -> str:
    name = path.lower().removesuffix(".gz").removesuffix(".bz2")
    return "jsonl" if name.endswith((".jsonl", ".json")) else "csv"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m docketbert.data.synthetic",
        description="Write a synthetic corpus of US federal court docket entries (PACER/CM-ECF style) as a "
        "CourtListener bulk-data style docket-entries CSV, or as JSON lines in the shape of the "
        "project's entry corpus (text, case, date_filed, entry_number). Everything is invented; "
        "deterministic per seed.",
    )
    p.add_argument("output", help="output path; a .gz or .bz2 suffix compresses")
    p.add_argument("--dockets", type=int, default=2000, help="number of dockets (5-60 entries each; default 2000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--format",
        choices=("csv", "jsonl"),
        default=None,
        help="output format (default: jsonl for a .jsonl/.json name, else csv)",
    )
    a = p.parse_args(argv)
    if a.dockets < 0:
        p.error("--dockets must be >= 0")
    write = write_jsonl if (a.format or _format(a.output)) == "jsonl" else write_courtlistener_csv
    n = write(a.output, a.dockets, a.seed)
    print(f"wrote {n} docket entries from {a.dockets} dockets to {a.output}", file=sys.stderr)
    return 0
