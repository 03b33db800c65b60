"""`python -m docketbert.finetune`: fine-tune a model on a labelled task (`--help` for the options)."""

import sys

from docketbert.downstream.finetuning import main

if __name__ == "__main__":
    sys.exit(main())
