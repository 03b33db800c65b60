"""The file outputs of `python -m docketbert.infer`, all written incrementally: .jsonl, .npy (embeddings only) and
.parquet, and the `.partial` name an output is written under until it is whole."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


class UsageError(ValueError):
    """A bad argument or input found before or while running: printed as one line, exit code 2."""


NPY_HEADER = 128  # bytes: magic, version, length, the header dict padded with spaces


# ---- writers (all incremental) -----------------------------------------------------------------------------------


class JsonlWriter:
    def __init__(self, path: Path, task: str):
        self.f, self.task = open(path, "w", encoding="utf-8"), task  # noqa: SIM115 (closed by close())
        self.rows = 0

    def write(self, start: int, results, ids: list[int] | None = None) -> None:
        """`results` of the entries numbered from `start` (a file's line index), or of the database's `ids`."""
        for n, r in enumerate(results):
            key = {"index": start + n} if ids is None else {"id": ids[n], "index": self.rows + n}
            rec = {**key, "embedding": [round(float(x), 6) for x in r]} if self.task == "embed" else {**key, **r}
            self.f.write(json.dumps(rec, ensure_ascii=False) + "\n")
        self.rows += len(results)

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

    def write(self, start: int, results, ids: list[int] | None = None) -> None:
        arr = np.ascontiguousarray(results, dtype="<f4")
        self.width = arr.shape[1]
        self.f.write(arr.tobytes())
        self.rows += arr.shape[0]

    def close(self) -> None:
        self._header()
        self.f.close()


class ParquetWriter:
    def __init__(self, path: Path, task: str):
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.pa, self.pq, self.path, self.task, self.writer, self.rows = pa, pq, path, task, None, 0

    def write(self, start: int, results, ids: list[int] | None = None) -> None:
        pa = self.pa
        first = start if ids is None else self.rows
        key = {"index": pa.array(range(first, first + len(results)), pa.int64())}
        if ids is not None:
            key = {"id": pa.array(ids, pa.int64()), **key}
        self.rows += len(results)
        if self.task == "embed":
            values = pa.array(list(np.asarray(results, dtype=np.float32)), pa.list_(pa.float32()))
            table = pa.table({**key, "embedding": values})
        else:
            table = pa.table({**key, "prediction": [json.dumps(r, ensure_ascii=False) for r in results]})
        if self.writer is None:
            self.writer = self.pq.ParquetWriter(str(self.path), table.schema)
        self.writer.write_table(table)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


WRITERS = {".jsonl": JsonlWriter, ".npy": NpyWriter, ".parquet": ParquetWriter}


def partial_path(output: Path) -> Path:
    """Where the output is written until it is complete (the same directory, so the final rename is atomic); a
    killed run leaves only this name, which the next run overwrites."""
    return output.with_name(f"{output.name}.partial")
