"""`python -m docketbert.evaluate`: score a fine-tuned model on a task file (`--help` for the options)."""

import sys

from docketbert.downstream.evaluation import main

if __name__ == "__main__":
    sys.exit(main())
