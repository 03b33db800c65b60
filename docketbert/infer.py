"""`python -m docketbert.infer`: embeddings or predictions for a file of entries (`--help` for the options)."""

import sys

from docketbert.downstream.infer_job import main

if __name__ == "__main__":
    sys.exit(main())
