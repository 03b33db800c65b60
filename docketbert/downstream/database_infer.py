"""`python -m docketbert.infer MODEL --input postgresql://...`: label the entries of a database by id, into a table
(resumable, on many processes) or into a file.

The input is read by `docketbert.data.database.DatabaseSource`, the reader of to_mds (keyset pages by id, the same
flags and errors). Ids are cut into blocks of `block_ids` consecutive ids, fixed by the job's first run; rank r of
W (RANK / WORLD_SIZE, as `composer -n N` and torchrun set them) reads the blocks k with k % W == r, in order, so
the ranks' rows are disjoint and together cover the input whatever W is. Into a table (`label_table.LabelTable`)
every chunk is committed with its blocks' progress: a re-run of the same command continues after the last whole
chunk, and once the job is done a re-run labels only the rows added since (ids above the last one read).
NULL, empty and whitespace-only texts are counted and never labelled. Into a file (.jsonl, .parquet: one rank),
every record carries its entry's id; the file appears whole or not at all, as for a file input.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from docketbert.data.database import DatabaseSource, is_database_url
from docketbert.data.readers import InputError
from docketbert.downstream.label_table import Chunk, LabelTable, blocks_of, prediction_row, split_output_url
from docketbert.downstream.output_files import WRITERS, partial_path

BLOCKS = 1024  # blocks a first run cuts the input's id range into (fewer when the range is narrower)


@dataclass
class Tally:
    read: int = 0
    labelled: int = 0
    empty: int = 0
    written: int = 0

    def as_list(self) -> list[int]:
        return [self.read, self.labelled, self.empty, self.written]


def rank_and_world() -> tuple[int, int]:
    """This process's rank and the number of processes, from the launcher's environment (0, 1 without one)."""
    try:
        rank, world = int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        raise InputError("RANK and WORLD_SIZE must be integers (as composer -n N or torchrun set them)") from None
    if world < 1 or not 0 <= rank < world:
        raise InputError(f"RANK {rank} is not one of WORLD_SIZE {world}'s ranks")
    return rank, world


def model_fingerprint(model_dir: str | Path, mode: str) -> str:
    """The weights and config files' SHA-256 (first 16 hex digits) and the mode: what made a row."""
    from docketbert.inference.openvino_cache import file_digest

    h = hashlib.sha256()
    folder = Path(model_dir)
    for path in sorted(folder.glob("*.safetensors")) + [folder / "config.json"]:
        if path.is_file():
            h.update(f"{path.name}:{file_digest(path)}|".encode())
    return f"{h.hexdigest()[:16]}/{mode}"


def open_source(args) -> DatabaseSource:
    return DatabaseSource(
        str(args.input),
        table=args.table,
        text_column=args.text_column,
        docket_column=None,
        id_column=args.id_column,
        query=args.query,
    )


def check_ids(low, high) -> None:
    for value in (low, high):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise InputError(
                f"the --id-column holds {type(value).__name__} values: labelling by id needs an integer id column"
            )


def block_rows(
    source: DatabaseSource, blocks, width: int, done: dict[int, int], since: int | None
) -> Iterator[tuple[int, int, str | None]]:
    """(block, id, text) of the blocks' rows not read yet: after each block's last id read and after `since`."""
    for block in blocks:
        after = max(done.get(block, block * width - 1), since if since is not None else block * width - 1)
        for page in source.pages(0, after, (block + 1) * width):
            for row_id, _docket, text in page:
                yield block, row_id, text


def _barrier(world: int) -> None:
    if world > 1:
        import torch.distributed as dist

        dist.barrier()


def _start_group(world: int) -> None:
    if world > 1:
        import torch.distributed as dist

        if not dist.is_initialized():
            dist.init_process_group("gloo")


def _sum(values: list[int], world: int) -> list[int]:
    if world == 1:
        return values
    import torch
    import torch.distributed as dist

    t = torch.tensor(values, dtype=torch.int64)
    dist.all_reduce(t)
    return t.tolist()


def run_database(args, task: str, run_chunk: Callable, decoded_as: str | None, enc) -> int:
    """Label the database input into args.output (a table URL or a .jsonl/.parquet file)."""
    from tqdm import tqdm

    rank, world = rank_and_world()
    to_table = is_database_url(str(args.output))
    if world > 1 and not to_table:
        raise InputError("several processes write into a table only: --output postgresql://...?table=NAME")
    _start_group(world)
    source = open_source(args)
    try:
        low, high = source.id_range()
        check_ids(low, high)
        fingerprint = model_fingerprint(args.model_dir, args.mode)
        stream = source.describe()[0]
        job = {
            "input": stream["select"],
            "database": source.conn.info.dbname,
            "model": fingerprint,
            "task": task,
            "decoded_as": decoded_as,
            "pooling": args.pooling if task == "embed" else None,
            "max_length": enc.max_length,
            "block_ids": max(1, -(-(high - low + 1) // BLOCKS)) if low is not None else 1,
        }
        if args.block_ids:
            job["block_ids"] = args.block_ids
        table = writer = None
        if to_table:
            url, name = split_output_url(str(args.output))
            table = LabelTable(url, name)
            if rank == 0:
                job = table.prepare(job, args.overwrite, create=True)
            _barrier(world)
            if rank != 0:
                job = table.prepare(job, False, create=False)
            done = table.progress()
        else:
            writer = WRITERS[args.output.suffix.lower()](partial_path(args.output), task)
            done = {}
        width = job["block_ids"]
        since = args.since_id
        tally = Tally()
        started = time.perf_counter()
        estimate = source.estimate_rows()
        bar = tqdm(
            total=estimate // world if estimate else None,
            unit=" entries",
            disable=args.no_progress or rank != 0,
            desc=f"{task} {stream['stream']}" + (f" (rank 0 of {world})" if world > 1 else ""),
            file=sys.stderr,
        )
        complete = False
        try:
            if low is not None:
                blocks = blocks_of(max(low, since + 1) if since is not None else low, high, width, rank, world)
                _label(block_rows(source, blocks, width, done, since), args, task, run_chunk, fingerprint, table,
                       writer, tally, bar)  # fmt: skip
            complete = True
        finally:
            bar.close()
            if writer is not None:
                _close_file(writer, args.output, complete)
        totals = Tally(*_sum(tally.as_list(), world))
        _barrier(world)
        if rank == 0:
            seconds = time.perf_counter() - started
            summary = {
                "task": task,
                **({"decoded_as": decoded_as} if decoded_as else {}),
                "read": totals.read,
                "labelled": totals.labelled,
                "skipped_empty": totals.empty,
                "written": totals.written,
                "processes": world,
                "seconds": round(seconds, 2),
                "entries_per_s": round(totals.read / max(seconds, 1e-9), 1),
                "output": str(args.output).split("?")[0] + (f" table {table.table}" if table else ""),
            }
            if table is not None:
                summary["rows_in_table"] = table.count()
            print(json.dumps(summary), file=sys.stderr)
        if table is not None:
            table.close()
    finally:
        source.close()
    return 0


def _label(rows, args, task, run_chunk, fingerprint, table, writer, tally: Tally, bar) -> None:
    ids: list[int] = []
    texts: list[str] = []
    progress: dict[int, int] = {}

    def flush() -> None:
        results = run_chunk(texts) if texts else []
        tally.labelled += len(texts)
        if table is not None:
            table.write(Chunk([prediction_row(i, fingerprint, r, task) for i, r in zip(ids, results)], progress))
        elif texts:
            writer.write(0, results, ids=ids)
        tally.written += len(texts)
        bar.update(len(progress_rows))
        ids.clear(), texts.clear(), progress.clear(), progress_rows.clear()

    progress_rows: list[int] = []
    for block, row_id, text in rows:
        tally.read += 1
        progress_rows.append(row_id)
        progress[block] = row_id
        if text is None or not text.strip():
            tally.empty += 1
        else:
            ids.append(row_id)
            texts.append(text)
        if len(progress_rows) >= args.chunk_size:
            flush()
    if progress_rows:
        flush()


def _close_file(writer, output: Path, complete: bool) -> None:
    writer.close()
    partial = partial_path(output)
    if complete and partial.exists():
        os.replace(partial, output)
    else:
        partial.unlink(missing_ok=True)
