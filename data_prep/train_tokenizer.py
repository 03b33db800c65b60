"""Train a ModernBERT-compatible byte-level BPE tokenizer on a corpus (`--help` for the options)."""

import sys

from docketbert.data.tokenizer_training import main

if __name__ == "__main__":
    sys.exit(main())
