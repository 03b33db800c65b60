"""`python -m docketbert.bench`: the inference benchmark (`--help` for the options)."""

import sys

from docketbert.bench.command import main

if __name__ == "__main__":
    sys.exit(main())
