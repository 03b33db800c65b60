"""Embeddings or predictions for docket entries, from a file or a PostgreSQL database, streamed in chunks (never
loaded whole).

    python -m docketbert.infer runs/x/hf --input entries.jsonl.gz --output vectors.npy --pooling mean
    python -m docketbert.infer runs/cls/hf --input entries.csv --text-column description --output preds.jsonl
    python -m docketbert.infer runs/cls/hf --input postgresql://me@db:5432/courtlistener \
        --output 'postgresql://me@db:5432/courtlistener?table=entry_labels'
    composer -n 8 -m docketbert.infer runs/cls/hf --input postgresql://... --output 'postgresql://...?table=...'

A database input (`docketbert.downstream.database_infer`) is read as to_mds reads it: search_docketentry (id,
description) by default, or --table/--id-column/--text-column, or --query; the password from PGPASSWORD or
~/.pgpass. Into a table (`docketbert.downstream.label_table`: entry id, the model's fingerprint, label and score,
the prediction as JSON, or the embedding as real[]) it is resumable: a killed run, re-run, continues after its last
whole chunk; a finished job, re-run, labels only the rows added since (or --since-id N); a table of another job
is refused unless --overwrite. Launched on N processes, each labels its own id ranges. NULL, empty and whitespace
only texts are counted and never labelled.

File inputs (plain, .gz, .bz2, .xz): JSONL (--text-key, default "text"), CSV (--text-column, default "description";
CourtListener COPY quoting), text (one entry per line). Outputs by extension:
  .jsonl    one line per input record: {"index": i, "embedding": [...]} or {"index": i, <prediction>}
  .npy      embeddings only, float32 (N, hidden), written as it goes (the header is fixed when done)
  .parquet  columns index + embedding (list<float>) or index + prediction (JSON text)
From a database, each record also carries the entry's `id` (and .npy, which cannot, is refused).
The task is "predict" for a fine-tuned head (*ForSequenceClassification / *ForTokenClassification export), else
"embed"; --task embed gives embeddings of a fine-tuned model's encoder. Predictions are decoded by the downstream
task (`docketbert.downstream.predict`): the one a fine-tune recorded in MODEL_DIR/docketbert_finetune.json, so they
are exactly what `docketbert.evaluate` scores (citations: spans trimmed to digit runs), else the one the head's
config implies (a token head: spans trimmed of whitespace). With a recorded fine-tune, --max-length defaults to
its max_length. Unreadable records (invalid JSON, no text)
and empty entries are kept as empty entries so the output lines up with the input; all are counted at the end.
The output is written as OUTPUT.partial and renamed to OUTPUT when every entry is in it: a killed run leaves no
file under the output's name, and its re-run writes the whole output again. An output that is the input (by any
path) is refused before anything is written.
"""

from __future__ import annotations

import argparse
import csv
import json
import lzma
import os
import sys
import time
import zlib
from pathlib import Path

from docketbert.core.paths import require_input_file, require_output_dir
from docketbert.data.database import add_source_arguments, is_database_url
from docketbert.downstream.output_files import WRITERS, UsageError, partial_path

# ---- the run -----------------------------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    from docketbert.inference.encoder import LAYOUTS, MODES, POOLINGS, canonical_mode

    p = argparse.ArgumentParser(
        prog="python -m docketbert.infer", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("model_dir", metavar="MODEL_DIR", help="an exported model (config.json, weights, tokenizer)")
    p.add_argument(
        "--input",
        required=True,
        help="entries: .jsonl / .csv / .txt (optionally .gz/.bz2/.xz), or a database postgresql://user@host:port/db",
    )
    p.add_argument(
        "--output",
        required=True,
        help="results: .jsonl, .npy (embeddings) or .parquet, or a table postgresql://...?table=NAME "
        "(default table docketbert_labels; created when missing)",
    )
    p.add_argument("--format", choices=["jsonl", "csv", "text"], help="input format (default: from the extension)")
    p.add_argument(
        "--task",
        choices=["auto", "embed", "predict"],
        default="auto",
        help="default auto: predict for a fine-tuned head, embed otherwise",
    )
    p.add_argument("--device", default="auto", help="auto (cuda when available), cpu, cuda, cuda:1 ...")
    p.add_argument(
        "--mode",
        type=canonical_mode,
        choices=MODES,
        default="fp32",
        help="fp32, bf16, int8 (CPU; lossy), openvino / openvino_int8 (OpenVINO; CPU; int8 lossy, the "
        "fastest CPU mode measured; the converted graph is cached in MODEL_DIR/openvino/, bound to the weights); see "
        "BENCHMARKS.md (default fp32)",
    )
    p.add_argument(
        "--layout",
        choices=LAYOUTS,
        help="batch layout for embeddings: unpadded (lean forward on real tokens; the CPU default for "
        "ModernBERT), padded (HF forward on sorted padded batches; the GPU default), packed (several "
        "entries per row, FlexAttention on GPU)",
    )
    p.add_argument("--pooling", choices=POOLINGS, default="cls", help="embedding pooling (default cls)")
    p.add_argument("--text-key", default="text", help="JSONL key of the entry text (default text)")
    p.add_argument("--text-column", default="description", help="CSV column of the entry text (default description)")
    p.add_argument("--tokenizer", help="tokenizer directory when MODEL_DIR has none")
    p.add_argument("--max-length", type=int, help="tokens per entry, [CLS]/[SEP] included (default: the model's)")
    p.add_argument("--token-budget", type=int, help="tokens per batch (default 2048 on cpu, 65536 on cuda)")
    p.add_argument("--chunk-size", type=int, default=8192, help="entries read, encoded and written at a time")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    db = p.add_argument_group("database input (--input postgresql://...)")
    add_source_arguments(db, "the --id-column and the --text-column")
    db.add_argument("--since-id", type=int, help="label only the rows with a larger id (a nightly job's new rows)")
    db.add_argument(
        "--overwrite",
        action="store_true",
        help="empty an output table that holds another model's or another input's rows, and label again",
    )
    db.add_argument(
        "--block-ids",
        type=int,
        help="ids per block the processes share out (default: the first run cuts the id range into 1024; "
        "kept by the job)",
    )
    args = p.parse_args(argv)
    args.output = args.output if is_database_url(args.output) else Path(args.output)
    if not is_database_url(args.input):
        args.input = Path(args.input)
    return args


def check_args(args: argparse.Namespace) -> None:
    """Every check that needs no model: the input is a readable file or a database, the output a new name for a
    known format in a directory (or a table, from a database), and never the input itself (by any path: symlinks,
    relative names, hard links)."""
    from_db, to_db = isinstance(args.input, str), isinstance(args.output, str)
    if not from_db and (args.table or args.query or args.since_id is not None or args.overwrite or args.block_ids):
        raise UsageError(
            "--table, --query, --since-id, --overwrite and --block-ids need a database --input (postgresql://...)"
        )
    if to_db and not from_db:
        raise UsageError("a table --output (postgresql://...) needs a database --input: label a file into a file")
    if args.block_ids is not None and args.block_ids < 1:
        raise UsageError(f"--block-ids must be >= 1, got {args.block_ids}")
    if from_db:
        if args.query and args.table:
            raise UsageError("--query replaces --table: give one or the other")
        if not to_db and args.output.suffix.lower() == ".npy":
            raise UsageError(".npy output cannot carry the entries' ids: use .parquet, .jsonl or a table")
    else:
        require_input_file(args.input, "--input", UsageError)
    if to_db:
        return _check_numbers(args)
    if args.output.suffix.lower() not in WRITERS:
        raise UsageError(f"--output must end in {', '.join(WRITERS)} (got {args.output.name})")
    for written in (args.output, partial_path(args.output)):
        if not from_db and same_file(written, args.input):
            raise UsageError(f"--output {written} is the input file {args.input}: it would be overwritten")
    if args.output.is_dir():
        raise UsageError(f"--output {args.output} is a directory")
    require_output_dir(args.output.parent, f"--output {args.output}", UsageError)
    _check_numbers(args)


def _check_numbers(args: argparse.Namespace) -> None:
    for flag, value, least in (
        ("--chunk-size", args.chunk_size, 1),
        ("--max-length", args.max_length, 2),
        ("--token-budget", args.token_budget, 1),
        ("--threads", args.threads, 1),
    ):
        if value is not None and value < least:
            raise UsageError(f"{flag} must be >= {least}, got {value}")


def same_file(a: Path, b: Path) -> bool:
    """Whether `a` and `b` name one file: the same resolved path, or (both existing) the same inode."""
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from docketbert.data.readers import InputError

    try:
        check_args(args)
        return run(args)
    except (UsageError, InputError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")  # batched fast tokenization on every core
    import torch
    from tqdm import tqdm

    from docketbert.data.readers import InputError, iter_rows
    from docketbert.downstream.finetune_record import finetune_record
    from docketbert.downstream.predict import predict, task_for_model_dir
    from docketbert.inference.encoder import Encoder

    if args.threads:
        torch.set_num_threads(args.threads)
    max_length = args.max_length
    try:
        if max_length is None and args.task != "embed":  # predict as the fine-tune was trained and scored
            max_length = finetune_record(args.model_dir).get("config", {}).get("max_length")
        enc = Encoder.from_pretrained(
            args.model_dir,
            device=args.device,
            mode=args.mode,
            pooling=args.pooling,
            max_length=max_length,
            token_budget=args.token_budget,
            tokenizer=args.tokenizer,
            layout=args.layout,
        )
    except (ValueError, OSError, RuntimeError) as err:  # RuntimeError: a --device torch does not know
        raise UsageError(str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__) from None
    head = any(k in type(enc.model).__name__ for k in ("ForSequenceClassification", "ForTokenClassification"))
    task = args.task if args.task != "auto" else ("predict" if head else "embed")
    if task == "predict" and not head:
        raise UsageError(f"{args.model_dir} has no fine-tuned head; use --task embed")
    if task == "predict" and isinstance(args.output, Path) and args.output.suffix.lower() == ".npy":
        raise UsageError(".npy output holds embeddings only; use .jsonl or .parquet for predictions")
    decoder = None
    if task == "embed":
        run_chunk = enc.embed
    else:
        try:
            decoder = task_for_model_dir(args.model_dir, enc.model.config)
        except ValueError as err:
            raise UsageError(str(err)) from None

        def run_chunk(texts):
            return predict(enc, texts, decoder)

    if args.task == "auto" and task == "embed":
        print(f"{args.model_dir} has no fine-tuned head: writing its embeddings (task embed)", file=sys.stderr)
    if isinstance(args.input, str):
        from docketbert.downstream.database_infer import run_database

        return run_database(args, task, run_chunk, decoder.name if decoder is not None else None, enc)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    partial = partial_path(args.output)
    writer = WRITERS[args.output.suffix.lower()](partial, task)
    bar = tqdm(
        total=args.input.stat().st_size,
        unit="B",
        unit_scale=True,
        disable=args.no_progress,
        desc=f"{task} {args.input.name}",
        file=sys.stderr,
    )
    unreadable, done, started = 0, 0, time.perf_counter()
    rows = iter_rows(
        args.input,
        args.format,
        text_column=args.text_column,
        docket_column=None,
        text_key=args.text_key,
        progress=bar.update,
    )
    chunk: list[str] = []
    complete = False
    try:
        for row in rows:
            if row.drop:
                unreadable += 1
            chunk.append(row.text or "")
            if len(chunk) >= args.chunk_size:
                writer.write(done, run_chunk(chunk))
                done += len(chunk)
                chunk = []
        if chunk:
            writer.write(done, run_chunk(chunk))
            done += len(chunk)
        complete = True
    except InputError as err:
        raise UsageError(str(err)) from None
    except (EOFError, OSError, zlib.error, lzma.LZMAError, csv.Error, UnicodeError) as err:
        if isinstance(err, OSError) and err.errno is not None:  # a file system error (a full disk): as it says
            raise UsageError(str(err)) from None
        # A truncated or corrupt compressed input, or a CSV the reader cannot parse: the input's fault.
        raise UsageError(f"cannot read --input {args.input} after {done + len(chunk)} entries: {err}") from None
    finally:
        writer.close()
        bar.close()
        if complete and partial.exists():  # (a .parquet of no entries is never created)
            os.replace(partial, args.output)  # the output's name appears only once it is whole
        else:
            partial.unlink(missing_ok=True)
    seconds = time.perf_counter() - started
    c = enc.counts
    decoded = {"decoded_as": decoder.name} if decoder is not None else {}
    print(
        json.dumps(
            {
                "task": task,
                **decoded,
                "entries": done,
                "empty": c.empty,
                "unreadable": unreadable,
                "truncated": c.truncated,
                "max_length": enc.max_length,
                "tokens": c.tokens,
                "seconds": round(seconds, 2),
                "entries_per_s": round(done / max(seconds, 1e-9), 1),
                "output": str(args.output),
            }
        ),
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
