"""Docket entries -> cleaned, deduplicated, docket-split, tokenized MDS shards (`--help` for the options)."""

import sys

from docketbert.data.to_mds_job import main

if __name__ == "__main__":
    sys.exit(main())
