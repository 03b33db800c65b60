"""Train a ModernBERT-compatible byte-level BPE tokenizer on docket entries and save it as an HF tokenizer.

For offline machines (no hub access): the result has the special tokens the MLM collator and ModernBERT need
([CLS] [SEP] [MASK] [PAD] [UNK]), wraps single entries as "[CLS] text [SEP]" like ModernBERT's tokenizer, and
its size is a multiple of 64 (padded with [unusedN] tokens) so embedding matrices stay tensor-core friendly.

    python data_prep/train_tokenizer.py --input ../shared/data/docket_entries.jsonl.gz --output tok/ --vocab-size 8192
"""

from __future__ import annotations

import argparse
import csv
import lzma
import sys
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

from docketbert.core.paths import require_input_file, require_output_dir
from docketbert.core.text import clean_text
from docketbert.data.readers import InputError, detect_format, iter_rows

SPECIAL_TOKENS = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]
VOCAB_MULTIPLE = 64


def train_tokenizer(
    texts: Iterable[str], vocab_size: int, output_dir: str | Path | None = None, min_frequency: int = 2
) -> PreTrainedTokenizerFast:
    """Train on `texts`; the returned tokenizer's len() is `vocab_size` rounded up to a multiple of 64."""
    if vocab_size < 512:
        raise ValueError(f"vocab_size {vocab_size} is too small (at least 512: 256 bytes + merges)")
    target = -(-vocab_size // VOCAB_MULTIPLE) * VOCAB_MULTIPLE
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=target,
        min_frequency=min_frequency,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator((clean_text(t) for t in texts), trainer)
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)]
    )
    # A small corpus can leave the vocabulary short of the target: pad with unused tokens to the multiple of 64.
    missing = target - tok.get_vocab_size()
    if missing > 0:
        tok.add_special_tokens([AddedToken(f"[unused{i}]", special=True) for i in range(missing)])
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        pad_token="[PAD]",
        mask_token=AddedToken("[MASK]", lstrip=True, special=True),
        model_max_length=8192,
        model_input_names=["input_ids", "attention_mask"],
    )
    assert len(fast) % VOCAB_MULTIPLE == 0, len(fast)
    if output_dir is not None:
        fast.save_pretrained(str(output_dir))
    return fast


def iter_texts(path: str | Path, text_key: str = "text") -> Iterator[str]:
    """Texts from a JSONL (with `text_key`), a CourtListener docket-entry CSV (`description` column) or a
    plain-text file (one entry per line, also for unknown extensions); .gz/.bz2/.xz allowed. Bad records
    and blank texts are skipped (data_prep/to_mds.py counts them)."""
    try:
        fmt = detect_format(path)
    except InputError:
        fmt = "text"
    for row in iter_rows(path, fmt, text_key=text_key, docket_column=None):
        if row.text is not None and row.text.strip():
            yield row.text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--input",
        nargs="+",
        required=True,
        help="JSONL (with a text key), CourtListener CSV or text files; .gz/.bz2/.xz allowed",
    )
    parser.add_argument("--output", required=True, help="directory for the HF tokenizer")
    parser.add_argument("--vocab-size", type=int, default=32768, help="target size, rounded up to a multiple of 64")
    parser.add_argument("--text-key", default="text", help="JSONL key holding the entry text (default: text)")
    parser.add_argument("--min-frequency", type=int, default=2, help="minimum pair frequency for a BPE merge")
    args = parser.parse_args(argv)
    try:
        check_args(args)
        counted = _Counted(t for path in args.input for t in iter_texts(path, args.text_key))
        tok = train_tokenizer(counted, args.vocab_size, None, args.min_frequency)
        if counted.n == 0:
            raise InputError(f"no entries in {', '.join(args.input)}: nothing to train on")
        tok.save_pretrained(args.output)
    except (InputError, ValueError, OSError, EOFError, zlib.error, lzma.LZMAError, csv.Error) as err:
        # InputError and ValueError (bad values), OSError (files), and truncated or corrupt compressed input
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"saved a {len(tok)}-token tokenizer to {args.output} ({counted.n} entries)", file=sys.stderr)
    return 0


class _Counted:
    """An iterator that counts what it yields."""

    def __init__(self, items: Iterable[str]):
        self.items, self.n = iter(items), 0

    def __iter__(self) -> Iterator[str]:
        for item in self.items:
            self.n += 1
            yield item


def check_args(args: argparse.Namespace) -> None:
    """The command's user errors, before any reading: inputs are files, the output is (or can become) a
    directory, and the sizes are in range."""
    for path in args.input:
        require_input_file(path, "--input", InputError)
    require_output_dir(args.output, f"--output {args.output}", InputError)
    if args.vocab_size < 512:
        raise InputError(f"--vocab-size {args.vocab_size} is too small (at least 512: 256 bytes + merges)")
    if args.min_frequency < 0:
        raise InputError(f"--min-frequency must be >= 0, got {args.min_frequency}")


if __name__ == "__main__":
    sys.exit(main())
