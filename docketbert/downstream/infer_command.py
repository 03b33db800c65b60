"""Embeddings or predictions for a file of docket entries, streamed in chunks (never loaded whole), in input order.

    python -m docketbert.infer runs/x/hf --input entries.jsonl.gz --output vectors.npy --pooling mean
    python -m docketbert.infer runs/cls/hf --input entries.csv --text-column description --output preds.jsonl

Inputs (plain, .gz, .bz2, .xz): JSONL (--text-key, default "text"), CSV (--text-column, default "description";
CourtListener COPY quoting), text (one entry per line). Outputs by extension:
  .jsonl    one line per input record: {"index": i, "embedding": [...]} or {"index": i, <prediction>}
  .npy      embeddings only, float32 (N, hidden), written as it goes (the header is fixed when done)
  .parquet  needs pyarrow (not a dependency: `uv pip install pyarrow`); columns index + embedding (list<float>) or
            index + prediction (JSON text)
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

import numpy as np

from docketbert.core.paths import require_input_file, require_output_dir

NPY_HEADER = 128  # bytes: magic, version, length, the header dict padded with spaces


class UsageError(ValueError):
    """A bad argument or input found before or while running: printed as one line, exit code 2."""


# ---- writers (all incremental) -----------------------------------------------------------------------------------


class JsonlWriter:
    def __init__(self, path: Path, task: str):
        self.f, self.task = open(path, "w", encoding="utf-8"), task  # noqa: SIM115 (closed by close())

    def write(self, start: int, results) -> None:
        for i, r in enumerate(results, start):
            rec = (
                {"index": i, "embedding": [round(float(x), 6) for x in r]}
                if self.task == "embed"
                else {"index": i, **r}
            )
            self.f.write(json.dumps(rec, ensure_ascii=False) + "\n")

    def close(self) -> None:
        self.f.close()


class NpyWriter:
    """float32 rows appended after a fixed-size header that is rewritten with the final shape on close."""

    def __init__(self, path: Path, task: str):
        if task != "embed":
            raise UsageError(".npy output holds embeddings only; use .jsonl or .parquet for predictions")
        self.f, self.rows, self.width = open(path, "wb"), 0, None  # noqa: SIM115 (closed by close())
        self._header()

    def _header(self) -> None:
        shape = (self.rows, self.width or 0)
        text = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }" % shape  # noqa: UP031
        body = text.ljust(NPY_HEADER - 10 - 1) + "\n"
        self.f.seek(0)
        self.f.write(b"\x93NUMPY\x01\x00" + len(body).to_bytes(2, "little") + body.encode("latin1"))

    def write(self, start: int, results) -> None:
        arr = np.ascontiguousarray(results, dtype="<f4")
        self.width = arr.shape[1]
        self.f.write(arr.tobytes())
        self.rows += arr.shape[0]

    def close(self) -> None:
        self._header()
        self.f.close()


class ParquetWriter:
    def __init__(self, path: Path, task: str):
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise UsageError(".parquet output needs pyarrow (`uv pip install pyarrow`); or use .jsonl / .npy") from None
        self.pa, self.pq, self.path, self.task, self.writer = pa, pq, path, task, None

    def write(self, start: int, results) -> None:
        pa = self.pa
        index = pa.array(range(start, start + len(results)), pa.int64())
        if self.task == "embed":
            values = pa.array(list(np.asarray(results, dtype=np.float32)), pa.list_(pa.float32()))
            table = pa.table({"index": index, "embedding": values})
        else:
            table = pa.table({"index": index, "prediction": [json.dumps(r, ensure_ascii=False) for r in results]})
        if self.writer is None:
            self.writer = self.pq.ParquetWriter(str(self.path), table.schema)
        self.writer.write_table(table)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


WRITERS = {".jsonl": JsonlWriter, ".npy": NpyWriter, ".parquet": ParquetWriter}


# ---- the run -----------------------------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    from docketbert.inference.encoder import LAYOUTS, MODES, POOLINGS

    p = argparse.ArgumentParser(
        prog="python -m docketbert.infer", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("model_dir", metavar="MODEL_DIR", help="an exported model (config.json, weights, tokenizer)")
    p.add_argument("--input", required=True, type=Path, help="entries: .jsonl / .csv / .txt (optionally .gz/.bz2/.xz)")
    p.add_argument(
        "--output", required=True, type=Path, help="results: .jsonl, .npy (embeddings) or .parquet (pyarrow)"
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
        choices=MODES,
        default="exact",
        help="exact (fp32), bf16, int8 (CPU; lossy), openvino / openvino_int8 (OpenVINO; CPU; int8 lossy, the "
        "fastest CPU mode measured; the converted graph is cached in MODEL_DIR/openvino/, bound to the weights); see "
        "BENCHMARKS.md (default exact)",
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
    return p.parse_args(argv)


def check_args(args: argparse.Namespace) -> None:
    """Every check that needs no model: the input is a readable file, the output a new name for a known format in
    a directory, and never the input itself (by any path: symlinks, relative names, hard links)."""
    require_input_file(args.input, "--input", UsageError)
    if args.output.suffix.lower() not in WRITERS:
        raise UsageError(f"--output must end in {', '.join(WRITERS)} (got {args.output.name})")
    for written in (args.output, partial_path(args.output)):
        if same_file(written, args.input):
            raise UsageError(f"--output {written} is the input file {args.input}: it would be overwritten")
    if args.output.is_dir():
        raise UsageError(f"--output {args.output} is a directory")
    require_output_dir(args.output.parent, f"--output {args.output}", UsageError)
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


def partial_path(output: Path) -> Path:
    """Where the output is written until it is complete (the same directory, so the final rename is atomic); a
    killed run leaves only this name, which the next run overwrites."""
    return output.with_name(f"{output.name}.partial")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        check_args(args)
        return run(args)
    except (UsageError, FileNotFoundError) as err:
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
    if task == "predict" and args.output.suffix.lower() == ".npy":
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
