"""Turn raw docket entries into cleaned, deduplicated, docket-split, tokenized MDS shards.

Inputs (several files per call; format from the extension, .gz/.bz2/.xz allowed, or --format; or one database):
  * a PostgreSQL database, postgresql://user@host:port/dbname (the password from PGPASSWORD or ~/.pgpass):
    CourtListener's search_docketentry by default (--with-recap-descriptions adds search_recapdocument's short
    descriptions, on their entries' dockets), or --table/--id-column/--text-column/--docket-column, or --query;
    read in keyset pages ordered by the id, so a part is an id range.
  * docket-entry CSVs as PostgreSQL COPY ... (FORMAT csv) writes them (quoted multi-line fields; quotes doubled,
    PostgreSQL's default, or escaped as \\" with ESCAPE '\\', as CourtListener writes them: --csv-escape, detected
    by default); text in --text-column, docket in --docket-column.
  * JSONL with a text key (--text-key) and a docket key (--docket-key; default the first present of
    docket_id, case, docket).
  * plain text, one entry per line (no docket: every entry is its own docket).

Pipeline: clean (docketbert.core.text.clean_text) -> drop empty -> exact dedup on normalize_for_dedup(text)
(64-bit blake2b, first occurrence wins) -> split by a hash of the docket id (a docket is wholly train or
wholly eval) -> cap at --max-chars characters -> tokenize as [CLS] ... [SEP], truncated to --max-seq-len
-> MDS shards (zstd) with columns input_ids (ndarray:uint16, or uint32 for tokenizers over 65536 tokens),
length (int32, tokens) and docket (str).

Output layout:
  OUT/manifest.json          inputs (files by size, mtime and a hash of their first and last MiB) and options:
                             a re-run with other ones is refused unless --overwrite
  OUT/train/index.json       merged index: read with streaming.StreamingDataset(local=OUT/train, ...)
  OUT/train/part-00000/ ...  the MDS shards of each part (likewise OUT/eval/)
  OUT/parts/part-00000/      a finished part: its stats and the dedup/docket hashes it added
  OUT/stats.json             counts, drops by reason, token-length percentiles (written last: done)
OUT may be a remote, s3://bucket/prefix: the job runs in a staging folder (--local) and uploads each part as it
finishes, the same layout (docketbert.data.remote_output).

Resumable: the input rows are processed in parts of --rows-per-part rows, each committed by an atomic
rename; a re-run after an interruption skips finished parts (files: re-reading, not re-tokenizing, their rows;
a database: starting after the last finished part's id), redoes the unfinished one and gives exactly the
entries of an uninterrupted run. A finished output is not redone unless --overwrite.

Examples:
  python data_prep/to_mds.py --input postgresql://reader@db.example.org:5432/courtlistener --output data/mds \\
      --with-recap-descriptions --tokenizer answerdotai/ModernBERT-base --max-seq-len 768 --eval-size 100000
  python data_prep/to_mds.py --input docket-entries.csv.bz2 --output data/mds \\
      --tokenizer answerdotai/ModernBERT-base --max-seq-len 768 --eval-size 100000 --workers 8
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import time
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass
from hashlib import blake2b
from itertools import islice
from pathlib import Path

import numpy as np

from docketbert.core.object_store import is_remote
from docketbert.core.paths import require_input_file, require_output_dir
from docketbert.core.text import clean_text, normalize_for_dedup
from docketbert.data.dedup import HashSet64, hash64
from docketbert.data.readers import InputError, Row, detect_format, iter_rows, resolve_csv_escape
from docketbert.data.to_mds_options import ToMdsOptions, parse_options

SPLITS = ("train", "eval")
MANIFEST_VERSION = 2
_FINGERPRINT_BYTES = 1 << 20  # a file's first and last MiB are hashed into the manifest
BATCH = 2048  # entries per tokenizer call / worker task
_SPLIT_PERSON = b"docketbert-split"  # blake2b personalisation of the docket hash used for the split


def eval_side(docket: str, eval_fraction: float) -> bool:
    """Whether a docket goes to eval: its blake2b-64 hash as a fraction of 2**64 is below eval_fraction."""
    digest = blake2b(docket.encode("utf-8", "surrogatepass"), digest_size=8, person=_SPLIT_PERSON).digest()
    return int.from_bytes(digest, "big") / 2**64 < eval_fraction


# ------------------------------------------------------------------------------------------- output folder


def _write_json(path: Path, obj) -> None:
    """Write atomically: a crash leaves the old file or the new one, never half of one."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1) + "\n")
    os.replace(tmp, path)


def _part_name(k: int) -> str:
    return f"part-{k:05d}"


@dataclass(frozen=True)
class Input:
    """One input stream: a file (with its format and, for CSV, its dialect) or one table of a database."""

    label: str  # the file's path, or "<url without password> <table>"
    fmt: str  # csv, jsonl, text, or postgresql
    path: Path | None = None
    csv_escape: str | None = None

    def record(self) -> dict:
        """The manifest's entry: a file's fingerprint (size, mtime, a hash of its first and last MiB)."""
        if self.path is None:
            return {"database": self.label, "format": self.fmt}
        st = self.path.stat()
        digest = blake2b(digest_size=16)
        with open(self.path, "rb") as f:
            digest.update(f.read(_FINGERPRINT_BYTES))
            if st.st_size > _FINGERPRINT_BYTES:
                f.seek(max(_FINGERPRINT_BYTES, st.st_size - _FINGERPRINT_BYTES))
                digest.update(f.read(_FINGERPRINT_BYTES))
        rec = {"path": str(self.path), "format": self.fmt, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
        rec["head_tail_blake2b"] = digest.hexdigest()
        return {**rec, "csv_escape": self.csv_escape} if self.csv_escape else rec


def _manifest(options: ToMdsOptions, inputs: list[Input], source_record: list[dict] | None) -> dict:
    return {
        "version": MANIFEST_VERSION,
        "inputs": source_record if source_record is not None else [i.record() for i in inputs],
        "options": options.result_options(),
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
            self.pending.append((ctx.submit(batch_texts), batch_dockets, batch_eval))
            while len(self.pending) > 2 * ctx.workers:
                self._drain_one()

    def _drain_one(self) -> None:
        future, dockets, evals = self.pending.popleft()
        self._write(self.ctx.result(future), dockets, evals)

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

    def finish(self, n_rows: int, position: tuple[int, object] | None = None) -> None:
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
                "position": None if position is None else list(position),
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


class WorkerDied(RuntimeError):
    """A tokenizer worker process ended abruptly: the run stops, a re-run resumes."""


class Context:
    """What every part needs: settings, the tokenizer, the worker pool and the dedup/docket hash sets."""

    def __init__(self, options: ToMdsOptions, tokenizer_json: str, dtype: str, eval_fraction: float):
        from docketbert.data.shard_encoding import ShardEncoder, encode_in_worker, init_worker

        self.max_seq_len, self.max_chars, self.workers = options.max_seq_len, options.max_chars, options.workers
        self.dtype, self.eval_fraction = dtype, eval_fraction
        self.seen = HashSet64()
        self.dockets = {s: HashSet64() for s in SPLITS}
        self.pool = self.encoder = None
        self.encode_fn = encode_in_worker
        if options.workers == 1:
            self.encoder = ShardEncoder(tokenizer_json, options.max_seq_len, dtype)
        else:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor

            # spawn, not fork: the parent's tokenizers thread pool does not survive a fork. An executor, not a
            # multiprocessing.Pool: when a worker dies (the OOM killer) its futures fail instead of waiting forever.
            self.pool = ProcessPoolExecutor(
                options.workers,
                mp_context=mp.get_context("spawn"),
                initializer=init_worker,
                initargs=(tokenizer_json, options.max_seq_len, dtype),
            )

    def restore(self, part_dir: Path) -> None:
        with np.load(part_dir / "hashes.npz") as h:
            self.seen.add(h["entries"])
            for s in SPLITS:
                self.dockets[s].add(h[f"{s}_dockets"])

    _DIED = (
        "a tokenizer worker process died (killed by the OOM killer or a signal?): the finished parts are kept; "
        "run the same command again to resume (fewer --workers need less memory)"
    )

    def submit(self, texts: list[str]):
        from concurrent.futures.process import BrokenProcessPool

        try:
            return self.pool.submit(self.encode_fn, texts)
        except BrokenProcessPool:
            raise WorkerDied(self._DIED) from None

    def result(self, future):
        from concurrent.futures.process import BrokenProcessPool

        try:
            return future.result()
        except BrokenProcessPool:
            raise WorkerDied(self._DIED) from None

    def close(self, failed: bool = False) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=not failed, cancel_futures=failed)


def _stream(inputs: list[Input], options: ToMdsOptions, progress) -> Iterator[tuple[int, Row]]:
    for i, inp in enumerate(inputs):
        for row in iter_rows(
            inp.path, inp.fmt, csv_escape=inp.csv_escape or "none", progress=progress, **options.reader_options()
        ):
            yield i, row


def _percentiles(hist: np.ndarray) -> dict:
    total = int(hist.sum())
    if total == 0:
        return {"p50": 0, "p90": 0, "p99": 0, "max": 0, "mean": 0.0}
    cum = np.cumsum(hist)
    pct = {f"p{q}": int(np.searchsorted(cum, q / 100 * total)) for q in (50, 90, 99)}  # nearest rank
    return {**pct, "max": int(np.nonzero(hist)[0][-1]), "mean": round(float(np.arange(len(hist)) @ hist) / total, 2)}


def _merge(out: Path, n_parts: int, inputs, options: ToMdsOptions, ctx: Context, vocab_size: int) -> dict:
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
    hist = {s: np.zeros(options.max_seq_len + 1, dtype=np.int64) for s in SPLITS}
    for k in range(n_parts):
        part = json.loads((out / "parts" / _part_name(k) / "stats.json").read_text())
        counts.update(part["counts"])
        rows_per_input.update({int(i): n for i, n in part["rows_per_input"].items()})
        for s in SPLITS:
            hist[s] += np.asarray(part["length_hist"][s], dtype=np.int64)
    reasons = ("empty", "malformed_csv_row", "invalid_json", "invalid_unicode", "missing_text", "duplicate")
    dropped = {r: counts[f"dropped_{r}"] for r in reasons}
    lengths = np.arange(options.max_seq_len + 1)
    return {
        "inputs": [
            {
                ("path" if inp.path is not None else "database"): inp.label,
                "format": inp.fmt,
                **({"csv_escape": inp.csv_escape} if inp.csv_escape else {}),
                "rows_read": rows_per_input[i],
            }
            for i, inp in enumerate(inputs)
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
        "tokenizer": options.tokenizer,
        "vocab_size": vocab_size,
        "id_dtype": ctx.dtype,
        "max_seq_len": options.max_seq_len,
        "max_chars": options.max_chars,
        "eval_fraction": ctx.eval_fraction,
        "eval_size": options.eval_size,
        "rows_per_part": options.rows_per_part,
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


def _open_inputs(options: ToMdsOptions):
    """(inputs, the database source or None): every input checked now (a missing file, column or table, a bad
    connection) rather than mid-run."""
    if options.database:
        from docketbert.data.database import DatabaseSource

        db = DatabaseSource(
            options.database,
            table=options.table,
            text_column=options.text_column,
            docket_column=options.docket,
            id_column=options.id_column,
            query=options.query,
            recap_descriptions=options.with_recap_descriptions,
        )
        return [Input(f"{d['database']} {d['stream']}", "postgresql") for d in db.describe()], db
    inputs = []
    for name in options.inputs:
        require_input_file(name, "input", InputError)
        path = Path(name).resolve()
        fmt = options.format or detect_format(path)
        escape = resolve_csv_escape(path, options.csv_escape) if fmt == "csv" else None
        inp = Input(str(path), fmt, path, escape)
        next(_stream([inp], options, None), None)  # fail now on a missing column, not mid-run
        inputs.append(inp)
    return inputs, None


def _part_stats(out: Path, k: int) -> dict:
    return json.loads((out / "parts" / _part_name(k) / "stats.json").read_text())


def _empty_splits(stats: dict) -> list[str]:
    return [s for s in SPLITS if stats["splits"][s]["entries"] == 0]


def _check_splits(stats: dict, strict: bool) -> int:
    """Warn about an empty split (a training run would find no samples in it); with --strict, fail."""
    empty = _empty_splits(stats)
    for split in empty:
        hint = "raise --eval-fraction or --eval-size" if split == "eval" else "lower --eval-fraction or --eval-size"
        level = "error" if strict else "warning"
        print(f"{level}: the {split} split is empty (0 entries of {stats['entries']:,}): {hint}", file=sys.stderr)
    return 3 if strict and empty else 0


def run(options: ToMdsOptions) -> int:
    """The job; its exit status (0, or 3 for an empty split under --strict)."""
    start = time.time()
    remote = None
    if is_remote(options.output):  # the job runs in a staging folder, uploading each part as it finishes
        from docketbert.data.remote_output import RemoteOutput, default_staging

        out = Path(options.local) if options.local else default_staging(options.output)
        require_output_dir(out, f"--local {out}", InputError)
        remote = RemoteOutput(options.output, out)
    else:
        out = Path(options.output)
        require_output_dir(out, f"--output {options.output}", InputError)
    inputs, db = _open_inputs(options)
    try:
        if remote is not None:
            remote.clear() if options.overwrite else remote.pull()
        return _run(options, out, inputs, db, start, remote)
    finally:
        if db is not None:
            db.close()


def _run(options: ToMdsOptions, out: Path, inputs: list[Input], db, start: float, remote=None) -> int:
    manifest = _manifest(options, inputs, db.describe() if db is not None else None)
    old = json.loads((out / "manifest.json").read_text()) if (out / "manifest.json").exists() else None
    if options.overwrite:
        _clear_output(out)
        old = None
    elif old is not None and {k: old.get(k) for k in ("version", "inputs", "options")} != manifest:
        what = "inputs" if old.get("options") == manifest["options"] else "inputs or options"
        raise InputError(
            f"{out} holds the output of a run with other {what} (an input file changed, or another one; see "
            f"{out / 'manifest.json'}): pass --overwrite to redo it, or choose another --output"
        )
    elif old is None and out.exists() and any(out.iterdir()):
        raise InputError(f"{out} is not empty and not this tool's output: choose another --output")
    elif (out / "stats.json").exists():
        print(f"{out} is already done (stats.json exists); pass --overwrite to redo it")
        return _check_splits(json.loads((out / "stats.json").read_text()), options.strict)

    from docketbert.core.tokenizer import load_tokenizer, smallest_id_dtype

    tokenizer = load_tokenizer(options.tokenizer)
    vocab_size = len(tokenizer)
    dtype = smallest_id_dtype(vocab_size)
    if old is not None and "eval_fraction_used" in old:
        eval_fraction = old["eval_fraction_used"]
    elif options.eval_size is not None:
        # a pre-pass: count the input rows
        n_rows = db.count_rows() if db is not None else sum(1 for _ in _stream(inputs, options, None))
        eval_fraction = min(1.0, options.eval_size / max(n_rows, 1))
        print(f"--eval-size {options.eval_size}: {n_rows:,} input rows -> eval fraction {eval_fraction:.6f}")
    else:
        eval_fraction = options.eval_fraction
    out.mkdir(parents=True, exist_ok=True)
    _write_json(out / "manifest.json", {**manifest, "eval_fraction_used": eval_fraction})
    if remote is not None:
        remote.push_manifest()
    done = _finished_parts(out)
    if done:
        print(f"resuming {out}: {done} finished part(s) of {options.rows_per_part:,} rows are kept")

    from tqdm import tqdm

    started_rows = time.time()
    if db is not None:
        bar = tqdm(
            total=db.estimate_rows(),
            unit="rows",
            unit_scale=True,
            disable=not options.progress,
            desc="rows (estimate from pg_class)",
            dynamic_ncols=True,
        )
    else:
        bar = tqdm(
            total=sum(i.path.stat().st_size for i in inputs),
            unit="B",
            unit_scale=True,
            disable=not options.progress,
            desc="input",
            dynamic_ncols=True,
        )
    ctx = Context(options, tokenizer.backend_tokenizer.to_str(), dtype, eval_fraction)
    failed = True
    try:
        if db is not None:  # finished parts are id ranges: restore their hashes, read on after the last one
            for k in range(done):
                ctx.restore(out / "parts" / _part_name(k))
            position = _part_stats(out, done - 1)["position"] if done else None
            bar.update(sum(_part_stats(out, k)["rows"] for k in range(done)))
            stream = db.rows(tuple(position) if position else None, progress=bar.update)
        else:
            stream = _stream(inputs, options, bar.update)
        k = 0
        while True:
            part_rows = islice(stream, options.rows_per_part)
            if k < done and db is None:  # finished: re-read its rows to move on, restore its hashes
                n = sum(1 for _ in part_rows)
                expected = _part_stats(out, k)["rows"]
                if n != expected:
                    raise InputError(
                        f"part {k} had {expected} rows and now has {n}: the inputs changed; rerun with --overwrite"
                    )
                ctx.restore(out / "parts" / _part_name(k))
                k += 1
                continue
            k = max(k, done)
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
            part.finish(sum(part.rows_per_input.values()), db.position if db is not None else None)
            if remote is not None:
                remote.push_part(k)
            k += 1
        failed = False
    finally:
        ctx.close(failed)
        bar.close()
        if failed:  # an unfinished part's leftovers: a re-run removes them too, but nothing half-written stays
            shutil.rmtree(out / ".tmp", ignore_errors=True)
    shutil.rmtree(out / ".tmp", ignore_errors=True)
    stats = _merge(out, k, inputs, options, ctx, vocab_size)
    stats["seconds_last_run"] = round(time.time() - start, 1)
    _write_json(out / "stats.json", stats)
    if remote is not None:
        remote.push_result()
    print(_summary(stats, time.time() - start, time.time() - started_rows))
    return _check_splits(stats, options.strict)


def main(argv: list[str] | None = None) -> int:
    options = parse_options(argv, __doc__)
    try:
        return run(options)
    except (InputError, OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except WorkerDied as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
