"""The one front door for measurement, `python -m docketbert.bench [SUBCOMMAND] ...`: each subcommand is a module
of this package with a `main(argv)`; without one, the inference benchmark runs (its options as they always were)."""

from __future__ import annotations

import importlib
import sys

from docketbert.bench.protocols import BenchError

# subcommand -> (module, what it measures); the first is the default
SUBCOMMANDS = {
    "inference": ("inference", "inference throughput of every variant against the reference protocol"),
    "training": ("training", "MLM training throughput: the reference recipe, HF dense rows, packed rows"),
    "loader": ("loader", "real tokens/s of the training data loader per worker count, against the GPU's need"),
    "to_mds": ("to_mds", "to_mds from PostgreSQL against to_mds from a CSV export of the same rows"),
    "lossy": ("lossy", "what the lossy inference modes cost on a fine-tuned task's metrics"),
    "infer": ("infer", "the bulk infer job, PostgreSQL to a table, against the inference front door"),
    "cpu_floor": ("cpu_floor", "this CPU's matrix kernels and the floor they set for a shape's Linear layers"),
}


def usage() -> str:
    width = max(map(len, SUBCOMMANDS))
    rows = [f"  {name:<{width}}  {what}" for name, (_, what) in SUBCOMMANDS.items()]
    return "\n".join(
        [
            "usage: python -m docketbert.bench [SUBCOMMAND] [options]",
            "",
            "subcommands (default: inference; `SUBCOMMAND --help` gives each one's options):",
            *rows,
        ]
    )


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] in (["-h"], ["--help"]):
        print(usage())
        return 0
    name = argv.pop(0) if argv and argv[0] in SUBCOMMANDS else "inference"
    module = importlib.import_module(f"docketbert.bench.{SUBCOMMANDS[name][0]}")
    try:
        result = module.main(argv)
    except BenchError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return result if isinstance(result, int) else 0
