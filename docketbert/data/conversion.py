"""Turn raw docket entries into cleaned, deduplicated, docket-split, tokenized MDS shards.

Inputs (several per call; format from the extension, .gz/.bz2/.xz allowed, or --format):
  * CourtListener bulk-data docket-entry CSVs (PostgreSQL COPY output: quoted multi-line fields, quotes
    escaped as \\" -- COPY's ESCAPE '\\' -- or doubled ""); text in --text-column, docket in --docket-column.
  * JSONL with a text key (--text-key) and a docket key (--docket-key; default the first present of
    docket_id, case, docket).
  * plain text, one entry per line (no docket: every entry is its own docket).

Pipeline: clean (docketbert.core.text.clean_text) -> drop empty -> exact dedup on normalize_for_dedup(text)
(64-bit blake2b, first occurrence wins) -> split by a hash of the docket id (a docket is wholly train or
wholly eval) -> cap at --max-chars characters -> tokenize as [CLS] ... [SEP], truncated to --max-seq-len
-> MDS shards (zstd) with columns input_ids (ndarray:uint16, or uint32 for tokenizers over 65536 tokens),
length (int32, tokens) and docket (str).

Output layout:
  OUT/manifest.json          inputs and options (a re-run with other ones is refused unless --overwrite)
  OUT/train/index.json       merged index: read with streaming.StreamingDataset(local=OUT/train, ...)
  OUT/train/part-00000/ ...  the MDS shards of each part (likewise OUT/eval/)
  OUT/parts/part-00000/      a finished part: its stats and the dedup/docket hashes it added
  OUT/stats.json             counts, drops by reason, token-length percentiles (written last: done)

Resumable: the input rows are processed in parts of --rows-per-part rows, each committed by an atomic
rename; a re-run after an interruption skips finished parts (re-reading, not re-tokenizing, their rows),
redoes the unfinished one and gives exactly the entries of an uninterrupted run. A finished output is
not redone unless --overwrite.

Example:
  python data_prep/to_mds.py --input docket-entries-2024-12-31.csv.bz2 --output data/mds \\
      --tokenizer answerdotai/ModernBERT-base --max-seq-len 768 --eval-size 100000 --workers 8
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import time
from collections import Counter, deque
from collections.abc import Iterator
from hashlib import blake2b
from itertools import islice
from pathlib import Path

import numpy as np

from docketbert.core.text import clean_text, normalize_for_dedup
from docketbert.data.dedup import HashSet64, hash64
from docketbert.data.readers import FORMATS, InputError, Row, detect_format, iter_rows

SPLITS = ("train", "eval")
MANIFEST_VERSION = 1
BATCH = 2048  # entries per tokenizer call / worker task
_SPLIT_PERSON = b"docketbert-split"  # blake2b personalisation of the docket hash used for the split


def eval_side(docket: str, eval_fraction: float) -> bool:
    """Whether a docket goes to eval: its blake2b-64 hash as a fraction of 2**64 is below eval_fraction."""
    digest = blake2b(docket.encode("utf-8", "surrogatepass"), digest_size=8, person=_SPLIT_PERSON).digest()
    return int.from_bytes(digest, "big") / 2**64 < eval_fraction


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="to_mds.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    io = p.add_argument_group("inputs and outputs")
    io.add_argument(
        "--input",
        nargs="+",
        required=True,
        metavar="FILE",
        help="input files, read in the order given (.csv/.jsonl/.txt, optionally .gz/.bz2/.xz)",
    )
    io.add_argument("--output", required=True, help="output directory (see 'Output layout' above)")
    io.add_argument("--format", choices=FORMATS, help="format of every input (default: from each extension)")
    io.add_argument(
        "--overwrite", action="store_true", help="delete this tool's earlier output in --output and start over"
    )
    io.add_argument("--no-progress", action="store_true", help="no progress bar (over input bytes)")
    cols = p.add_argument_group("input fields")
    cols.add_argument(
        "--text-column", default="description", help="CSV column with the entry text (default: description)"
    )
    cols.add_argument(
        "--docket-column",
        default="docket_id",
        help="CSV column with the docket id (default: docket_id); '' for none (each entry its own docket)",
    )
    cols.add_argument(
        "--no-csv-escape",
        dest="csv_escape",
        action="store_false",
        help='CSV quotes are only doubled (""); by default a backslash also escapes the next '
        "character (\\\" and \\\\), as in CourtListener's PostgreSQL COPY ... ESCAPE '\\' output "
        "(Python's csv applies it in unquoted fields too: a field ending in a backslash "
        "then eats the delimiter and the row is counted as malformed)",
    )
    cols.add_argument("--text-key", default="text", help="JSONL key with the entry text (default: text)")
    cols.add_argument(
        "--docket-key",
        default=None,
        help="JSONL key with the docket id (default: first present of docket_id, case, docket)",
    )
    tok = p.add_argument_group("tokenization")
    tok.add_argument(
        "--tokenizer",
        default="answerdotai/ModernBERT-base",
        help="HF hub name (needs a network) or local tokenizer directory (default: answerdotai/ModernBERT-base)",
    )
    tok.add_argument(
        "--max-seq-len",
        type=int,
        default=768,
        help="tokens per entry, [CLS] and [SEP] included; longer entries are truncated (default 768)",
    )
    tok.add_argument(
        "--max-chars",
        type=int,
        default=20000,
        help="characters kept per entry before tokenizing, so a giant entry cannot stall a worker (default 20000)",
    )
    tok.add_argument(
        "--workers",
        type=int,
        default=min(os.cpu_count() or 1, 8),
        help="tokenizer processes; 1 tokenizes in the main process (default min(cpus, 8))",
    )
    split = p.add_argument_group("train/eval split (by docket)").add_mutually_exclusive_group()
    split.add_argument(
        "--eval-fraction",
        type=float,
        default=None,
        help="fraction of dockets (by a hash of the docket id) that go to eval (default 0.015)",
    )
    split.add_argument(
        "--eval-size",
        type=int,
        default=None,
        help="about this many eval entries: a first pass counts the input rows R and the eval "
        "fraction becomes N/R (fewer entries end up in eval when rows are dropped)",
    )
    p.add_argument(
        "--rows-per-part", type=int, default=1_000_000, help="input rows per resumable part (default 1000000)"
    )
    args = p.parse_args(argv)
    if args.eval_fraction is None and args.eval_size is None:
        args.eval_fraction = 0.015
    if args.eval_fraction is not None and not 0.0 <= args.eval_fraction <= 1.0:
        p.error("--eval-fraction must be in [0, 1]")
    if args.eval_size is not None and args.eval_size < 0:
        p.error("--eval-size must be >= 0")
    if args.max_seq_len < 3 or args.max_chars < 1 or args.rows_per_part < 1 or args.workers < 1:
        p.error("--max-seq-len must be >= 3; --max-chars, --rows-per-part and --workers >= 1")
    return args


# ------------------------------------------------------------------------------------------- output folder


def _write_json(path: Path, obj) -> None:
    """Write atomically: a crash leaves the old file or the new one, never half of one."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1) + "\n")
    os.replace(tmp, path)


def _part_name(k: int) -> str:
    return f"part-{k:05d}"


def _manifest(args: argparse.Namespace, inputs: list[tuple[Path, str]]) -> dict:
    return {
        "version": MANIFEST_VERSION,
        "inputs": [{"path": str(p), "format": fmt, "size": p.stat().st_size} for p, fmt in inputs],
        "options": {
            k: getattr(args, k)
            for k in (
                "text_column",
                "docket_column",
                "csv_escape",
                "text_key",
                "docket_key",
                "tokenizer",
                "max_seq_len",
                "max_chars",
                "eval_fraction",
                "eval_size",
                "rows_per_part",
            )
        },
    }


def _clear_output(out: Path) -> None:
    for name in ("stats.json", "manifest.json", "train", "eval", "parts", ".tmp"):
        path = out / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def _finished_parts(out: Path) -> int:
    """How many parts are finished (a prefix 0..n-1); removes the leftovers of any unfinished one."""
    shutil.rmtree(out / ".tmp", ignore_errors=True)
    n = 0
    while (out / "parts" / _part_name(n) / "stats.json").exists():
        n += 1
    keep = {_part_name(k) for k in range(n)}
    for folder in [out / "parts", *(out / s for s in SPLITS)]:
        for sub in folder.glob("part-*"):
            if sub.name not in keep:
                shutil.rmtree(sub)
    return n


# ------------------------------------------------------------------------------------------ processing


class PartWriter:
    """Cleans, dedups, splits, tokenizes and writes the rows of one part into OUT/.tmp/part-K."""

    def __init__(self, out: Path, k: int, ctx: Context):
        from streaming import MDSWriter

        self.out, self.k, self.ctx = out, k, ctx
        self.tmp = out / ".tmp" / _part_name(k)
        self.tmp.mkdir(parents=True)
        columns = {"input_ids": f"ndarray:{ctx.dtype}", "length": "int32", "docket": "str"}
        self.writers = {s: MDSWriter(out=str(self.tmp / s), columns=columns, compression="zstd") for s in SPLITS}
        self.counts: Counter = Counter()
        self.rows_per_input: Counter = Counter()
        self.hist = {s: np.zeros(ctx.max_seq_len + 1, dtype=np.int64) for s in SPLITS}
        self.new_entry_keys: list[np.ndarray] = []
        self.new_docket_keys: dict[str, list[np.ndarray]] = {s: [] for s in SPLITS}
        self.pending: deque = deque()

    def add_batch(self, rows: list[tuple[int, Row]]) -> None:
        ctx, counts = self.ctx, self.counts
        texts, dockets = [], []
        for source, row in rows:
            self.rows_per_input[source] += 1
            counts["invalid_utf8_rows"] += row.bad_utf8
            counts["nul_rows"] += row.nul
            if row.drop:
                counts[f"dropped_{row.drop}"] += 1
                continue
            text = clean_text(row.text)
            if not text:
                counts["dropped_empty"] += 1
                continue
            texts.append(text)
            dockets.append(row.docket)
        if not texts:
            return
        keys = hash64(normalize_for_dedup(t) for t in texts)
        new = ctx.seen.add(keys)
        counts["dropped_duplicate"] += int(len(texts) - new.sum())
        self.new_entry_keys.append(keys[new])
        batch_texts, batch_dockets, batch_eval = [], [], []
        for text, docket, key in zip(
            (t for t, n in zip(texts, new) if n), (d for d, n in zip(dockets, new) if n), keys[new]
        ):
            if docket is None:
                counts["entries_without_docket"] += 1
                docket = f"entry:{int(key):016x}"  # a stand-in: the entry is its own docket
            if len(text) > ctx.max_chars:
                counts["truncated_chars"] += 1
                text = text[: ctx.max_chars]
            batch_texts.append(text)
            batch_dockets.append(docket)
            batch_eval.append(eval_side(docket, ctx.eval_fraction))
        if ctx.pool is None:
            self._write(ctx.encoder(batch_texts), batch_dockets, batch_eval)
        else:
            self.pending.append((ctx.pool.apply_async(ctx.encode_fn, (batch_texts,)), batch_dockets, batch_eval))
            while len(self.pending) > 2 * ctx.workers:
                self._drain_one()

    def _drain_one(self) -> None:
        result, dockets, evals = self.pending.popleft()
        self._write(result.get(), dockets, evals)

    def _write(self, encoded: tuple[np.ndarray, np.ndarray, int], dockets: list[str], evals: list[bool]) -> None:
        ids, lengths, truncated = encoded
        self.counts["truncated_tokens"] += truncated
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        for i, (docket, is_eval) in enumerate(zip(dockets, evals)):
            split = SPLITS[is_eval]
            n = int(lengths[i])
            self.writers[split].write({"input_ids": ids[offsets[i] : offsets[i + 1]], "length": n, "docket": docket})
            self.hist[split][n] += 1
        for split, flag in (("train", False), ("eval", True)):
            chosen = [d for d, e in zip(dockets, evals) if e == flag]
            if chosen:
                keys = hash64(chosen)
                self.new_docket_keys[split].append(keys[self.ctx.dockets[split].add(keys)])

    def finish(self, n_rows: int) -> None:
        """Flush, then commit the part: move its shards into OUT/<split>/, and OUT/.tmp/part-K to OUT/parts/."""
        while self.pending:
            self._drain_one()
        for w in self.writers.values():
            w.finish()
        cat = lambda arrays: np.concatenate(arrays) if arrays else np.zeros(0, dtype=np.uint64)  # noqa: E731
        np.savez(
            self.tmp / "hashes.npz",
            entries=cat(self.new_entry_keys),
            **{f"{s}_dockets": cat(self.new_docket_keys[s]) for s in SPLITS},
        )
        _write_json(
            self.tmp / "stats.json",
            {
                "rows": n_rows,
                "rows_per_input": {str(k): v for k, v in sorted(self.rows_per_input.items())},
                "counts": dict(self.counts),
                "length_hist": {s: self.hist[s].tolist() for s in SPLITS},
            },
        )
        name = _part_name(self.k)
        for s in SPLITS:
            (self.out / s).mkdir(exist_ok=True)
            os.replace(self.tmp / s, self.out / s / name)
        (self.out / "parts").mkdir(exist_ok=True)
        os.replace(self.tmp, self.out / "parts" / name)  # the commit point


class Context:
    """What every part needs: settings, the tokenizer, the worker pool and the dedup/docket hash sets."""

    def __init__(self, args: argparse.Namespace, tokenizer_json: str, dtype: str, eval_fraction: float):
        from docketbert.data.shard_encoding import ShardEncoder, encode_in_worker, init_worker

        self.max_seq_len, self.max_chars, self.workers = args.max_seq_len, args.max_chars, args.workers
        self.dtype, self.eval_fraction = dtype, eval_fraction
        self.seen = HashSet64()
        self.dockets = {s: HashSet64() for s in SPLITS}
        self.pool = self.encoder = None
        self.encode_fn = encode_in_worker
        if args.workers == 1:
            self.encoder = ShardEncoder(tokenizer_json, args.max_seq_len, dtype)
        else:
            import multiprocessing as mp

            # spawn, not fork: the parent's tokenizers thread pool does not survive a fork.
            self.pool = mp.get_context("spawn").Pool(
                args.workers, initializer=init_worker, initargs=(tokenizer_json, args.max_seq_len, dtype)
            )

    def restore(self, part_dir: Path) -> None:
        with np.load(part_dir / "hashes.npz") as h:
            self.seen.add(h["entries"])
            for s in SPLITS:
                self.dockets[s].add(h[f"{s}_dockets"])

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
            self.pool.join()


def _stream(inputs: list[tuple[Path, str]], args: argparse.Namespace, progress) -> Iterator[tuple[int, Row]]:
    for i, (path, fmt) in enumerate(inputs):
        for row in iter_rows(
            path,
            fmt,
            text_column=args.text_column,
            docket_column=args.docket_column or None,
            text_key=args.text_key,
            docket_key=args.docket_key,
            csv_escape=args.csv_escape,
            progress=progress,
        ):
            yield i, row


def _percentiles(hist: np.ndarray) -> dict:
    total = int(hist.sum())
    if total == 0:
        return {"p50": 0, "p90": 0, "p99": 0, "max": 0, "mean": 0.0}
    cum = np.cumsum(hist)
    pct = {f"p{q}": int(np.searchsorted(cum, q / 100 * total)) for q in (50, 90, 99)}  # nearest rank
    return {**pct, "max": int(np.nonzero(hist)[0][-1]), "mean": round(float(np.arange(len(hist)) @ hist) / total, 2)}


def _merge(out: Path, n_parts: int, inputs, args, ctx: Context, tok_name_vocab: tuple[str, int]) -> dict:
    from streaming.base.util import merge_index

    for s in SPLITS:
        (out / s).mkdir(exist_ok=True)
        indexes = [str(out / s / _part_name(k) / "index.json") for k in range(n_parts)]
        if indexes:
            logging.disable(logging.WARNING)  # merge_index logs a warning about its temp folder
            try:
                merge_index(indexes, str(out / s))
            finally:
                logging.disable(logging.NOTSET)
        else:
            _write_json(out / s / "index.json", {"shards": [], "version": 2})
    counts: Counter = Counter()
    rows_per_input: Counter = Counter()
    hist = {s: np.zeros(args.max_seq_len + 1, dtype=np.int64) for s in SPLITS}
    for k in range(n_parts):
        part = json.loads((out / "parts" / _part_name(k) / "stats.json").read_text())
        counts.update(part["counts"])
        rows_per_input.update({int(i): n for i, n in part["rows_per_input"].items()})
        for s in SPLITS:
            hist[s] += np.asarray(part["length_hist"][s], dtype=np.int64)
    dropped = {
        r: counts[f"dropped_{r}"] for r in ("empty", "malformed_csv_row", "invalid_json", "missing_text", "duplicate")
    }
    lengths = np.arange(args.max_seq_len + 1)
    return {
        "inputs": [
            {"path": str(p), "format": fmt, "rows_read": rows_per_input[i]} for i, (p, fmt) in enumerate(inputs)
        ],
        "rows_read": sum(rows_per_input.values()),
        "entries": int(sum(h.sum() for h in hist.values())),
        "dropped": dropped,
        "duplicates": dropped["duplicate"],
        "invalid_utf8_rows": counts["invalid_utf8_rows"],
        "nul_rows": counts["nul_rows"],
        "entries_without_docket": counts["entries_without_docket"],
        "truncated": {"chars": counts["truncated_chars"], "tokens": counts["truncated_tokens"]},
        "splits": {
            s: {
                "entries": int(hist[s].sum()),
                "tokens": int(lengths @ hist[s]),
                "dockets": len(ctx.dockets[s]),
                "length": _percentiles(hist[s]),
            }
            for s in SPLITS
        },
        "tokenizer": tok_name_vocab[0],
        "vocab_size": tok_name_vocab[1],
        "id_dtype": ctx.dtype,
        "max_seq_len": args.max_seq_len,
        "max_chars": args.max_chars,
        "eval_fraction": ctx.eval_fraction,
        "eval_size": args.eval_size,
        "rows_per_part": args.rows_per_part,
        "parts": n_parts,
    }


def _summary(stats: dict, seconds: float, processing: float) -> str:
    tr, ev = stats["splits"]["train"], stats["splits"]["eval"]
    return (
        f"{stats['rows_read']:,} rows -> {stats['entries']:,} entries in {seconds:.1f}s (this run's rows: "
        f"{processing:.1f}s after start-up, {stats['rows_read'] / max(processing, 1e-9):,.0f} rows/s); "
        f"dropped {stats['dropped']}\n"
        f"train: {tr['entries']:,} entries, {tr['tokens']:,} tokens, {tr['dockets']:,} dockets, "
        f"length {tr['length']}\n"
        f"eval:  {ev['entries']:,} entries, {ev['tokens']:,} tokens, {ev['dockets']:,} dockets, "
        f"length {ev['length']}\n"
        f"invalid UTF-8 rows {stats['invalid_utf8_rows']}, NUL rows {stats['nul_rows']}, truncated "
        f"{stats['truncated']}, entries without docket {stats['entries_without_docket']}"
    )


def run(args: argparse.Namespace) -> int:
    start = time.time()
    out = Path(args.output)
    inputs = []
    for name in args.input:
        path = Path(name).resolve()
        if not path.is_file():
            raise InputError(f"input {name} does not exist")
        fmt = args.format or detect_format(path)
        next(_stream([(path, fmt)], args, None), None)  # fail now on a missing column, not mid-run
        inputs.append((path, fmt))
    manifest = _manifest(args, inputs)
    old = json.loads((out / "manifest.json").read_text()) if (out / "manifest.json").exists() else None
    if args.overwrite:
        _clear_output(out)
        old = None
    elif old is not None and {k: old.get(k) for k in ("version", "inputs", "options")} != manifest:
        raise InputError(
            f"{out} holds the output of a run with other inputs or options (see "
            f"{out / 'manifest.json'}): pass --overwrite to replace it, or choose another --output"
        )
    elif old is None and out.exists() and any(out.iterdir()):
        raise InputError(f"{out} is not empty and not this tool's output: choose another --output")
    elif (out / "stats.json").exists():
        print(f"{out} is already done (stats.json exists); pass --overwrite to redo it")
        return 0

    from docketbert.core.tokenizer import load_tokenizer, smallest_id_dtype

    tokenizer = load_tokenizer(args.tokenizer)
    vocab_size = len(tokenizer)
    dtype = smallest_id_dtype(vocab_size)
    if old is not None and "eval_fraction_used" in old:
        eval_fraction = old["eval_fraction_used"]
    elif args.eval_size is not None:
        n_rows = sum(1 for _ in _stream(inputs, args, None))  # a pre-pass: count the input rows
        eval_fraction = min(1.0, args.eval_size / max(n_rows, 1))
        print(f"--eval-size {args.eval_size}: {n_rows:,} input rows -> eval fraction {eval_fraction:.6f}")
    else:
        eval_fraction = args.eval_fraction
    out.mkdir(parents=True, exist_ok=True)
    _write_json(out / "manifest.json", {**manifest, "eval_fraction_used": eval_fraction})
    done = _finished_parts(out)
    if done:
        print(f"resuming {out}: {done} finished part(s) of {args.rows_per_part:,} rows are kept")

    from tqdm import tqdm

    started_rows = time.time()

    bar = tqdm(
        total=sum(p.stat().st_size for p, _ in inputs),
        unit="B",
        unit_scale=True,
        disable=args.no_progress,
        desc="input",
        dynamic_ncols=True,
    )
    ctx = Context(args, tokenizer.backend_tokenizer.to_str(), dtype, eval_fraction)
    try:
        stream = _stream(inputs, args, bar.update)
        k = 0
        while True:
            part_rows = islice(stream, args.rows_per_part)
            if k < done:  # finished: re-read its rows to move on, restore its hashes
                n = sum(1 for _ in part_rows)
                expected = json.loads((out / "parts" / _part_name(k) / "stats.json").read_text())["rows"]
                if n != expected:
                    raise InputError(
                        f"part {k} had {expected} rows and now has {n}: the inputs changed; rerun with --overwrite"
                    )
                ctx.restore(out / "parts" / _part_name(k))
                k += 1
                continue
            first = next(part_rows, None)
            if first is None:
                break
            part = PartWriter(out, k, ctx)
            batch = [first]
            for item in part_rows:
                batch.append(item)
                if len(batch) == BATCH:
                    part.add_batch(batch)
                    batch = []
            part.add_batch(batch)
            part.finish(sum(part.rows_per_input.values()))
            k += 1
    finally:
        ctx.close()
        bar.close()
    shutil.rmtree(out / ".tmp", ignore_errors=True)
    stats = _merge(out, k, inputs, args, ctx, (args.tokenizer, vocab_size))
    stats["seconds_last_run"] = round(time.time() - start, 1)
    _write_json(out / "stats.json", stats)
    print(_summary(stats, time.time() - start, time.time() - started_rows))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except (InputError, OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
