"""`python -m docketbert.bench [SUBCOMMAND]`: the measurement front door (`--help` lists the subcommands)."""

import sys

from docketbert.bench.subcommands import main

if __name__ == "__main__":
    sys.exit(main())
