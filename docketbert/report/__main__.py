"""`python -m docketbert.report`: the results table, plots and downstream table of a runs folder."""

import sys

from docketbert.report.results import main

if __name__ == "__main__":
    sys.exit(main())
