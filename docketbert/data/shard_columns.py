"""The columns of the MDS shards docketbert reads, checked in a split's index.json before streaming opens it.

data_prep/to_mds.py writes `SHARD_COLUMNS`. streaming decodes each column by the encoding index.json names, and a
`pkl` column is unpickled (code of the shard author's choosing would run; streaming refuses it with a traceback
of its own, once the loader is built). `shard_column_fault` reads index.json only and names the first column
docketbert would not read: a `pkl` one, a known column in another encoding than to_mds.py writes, a further column
in an encoding outside the plain ones (`PLAIN_ENCODINGS`, ndarray), or a split without input_ids.

    check_shard_columns(root / "train" / "index.json", "data.train_split='train'")   # ConfigError, one line
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from docketbert.config import ConfigError

# Each column to_mds.py writes and the encodings it writes it in (input_ids: uint32 for tokenizers over 65536).
SHARD_COLUMNS = {
    "input_ids": ("ndarray:uint16", "ndarray:uint32"),
    "length": ("int32",),
    "docket": ("str",),
}
REQUIRED_COLUMNS = ("input_ids",)
# Encodings streaming decodes without unpickling or an image decoder: a further column in one of these is ignored.
PLAIN_ENCODINGS = frozenset(
    ["str", "bytes", "json", "int", "str_int", "str_float", "str_decimal"]
    + [f"{kind}{bits}" for kind in ("int", "uint") for bits in (8, 16, 32, 64)]
    + ["float16", "float32", "float64"]
)
PICKLE_ENCODINGS = frozenset(["pkl"])
REBUILD = "rebuild the split with data_prep/to_mds.py"


def _plain(encoding: str) -> bool:
    return encoding in PLAIN_ENCODINGS or encoding == "ndarray" or encoding.startswith("ndarray:")


def shard_column_fault(index_file: str | Path) -> str | None:
    """None when every shard `index_file` lists has columns docketbert reads, else one line naming index.json, the
    shard and the column, and what is wrong with it. An index.json that does not read is named too."""
    index_file = Path(index_file)
    try:
        index = json.loads(index_file.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as err:
        return f"{index_file} is not an MDS index ({type(err).__name__}: {err})"
    shards = index.get("shards") if isinstance(index, dict) else None
    if not isinstance(shards, list):
        return f"{index_file} is not an MDS index (no list of shards)"
    for number, shard in enumerate(shards):
        fault = _shard_fault(shard, number)
        if fault:
            return f"{index_file}: {fault}"
    return None


def _shard_fault(shard: Any, number: int) -> str | None:
    if not isinstance(shard, dict):
        return f"shard {number} is not an object"
    raw = shard.get("raw_data")
    name = f"shard {raw['basename']}" if isinstance(raw, dict) and isinstance(raw.get("basename"), str) else None
    name = name or f"shard {number}"
    if shard.get("format", "mds") != "mds":
        return f"{name} is in format {shard.get('format')!r}, not mds: {REBUILD}"
    names, encodings = shard.get("column_names"), shard.get("column_encodings")
    if not (isinstance(names, list) and isinstance(encodings, list) and len(names) == len(encodings)):
        return f"{name} has no matching column_names and column_encodings: {REBUILD}"
    for column, encoding in zip(names, encodings):
        if not isinstance(encoding, str) or not isinstance(column, str):
            return f"{name} column {column!r} has the encoding {encoding!r}, not a name: {REBUILD}"
        if encoding in PICKLE_ENCODINGS:
            return (
                f"{name} column {column!r} is encoded as {encoding!r}, a pickle that streaming would unpickle "
                f"(it can run code): refused; {REBUILD}"
            )
        wanted = SHARD_COLUMNS.get(column)
        if wanted is not None and encoding not in wanted:
            return (
                f"{name} column {column!r} is encoded as {encoding!r}, not {' or '.join(wanted)} as "
                f"data_prep/to_mds.py writes it: {REBUILD}"
            )
        if wanted is None and not _plain(encoding):
            return f"{name} column {column!r} has the encoding {encoding!r}, which docketbert does not read: {REBUILD}"
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        return f"{name} has no {', '.join(missing)} column (its columns: {', '.join(names) or 'none'}): {REBUILD}"
    return None


def check_shard_columns(index_file: str | Path, what: str) -> None:
    """`shard_column_fault` as a ConfigError: "`what`: <the fault>" (`what` names the config key, e.g.
    "data.train_split='train'")."""
    fault = shard_column_fault(index_file)
    if fault:
        raise ConfigError(f"{what}: {fault}")
