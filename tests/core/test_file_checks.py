"""The checks behind the one-line refusals, on the files they read: which weights a model folder would be loaded
from (safetensors only), which MDS shard columns are read, and what is wrong with an input or output path. The
commands' own messages are in test_command_errors.py and test_config_errors.py."""

from __future__ import annotations

import json
import os

import pytest
import torch
from safetensors.torch import save_file

from docketbert.core.paths import input_file_fault, output_dir_fault
from docketbert.data.shard_columns import shard_column_fault
from docketbert.model.weights import weights_fault


def _safetensors(path):
    save_file({"w": torch.zeros(2)}, str(path))
    return path


def _pickle(path):
    torch.save({"w": torch.zeros(2)}, path)
    return path


def test_safetensors_weights_are_read_and_a_stray_pickle_beside_them_is_not(tmp_path):
    _safetensors(tmp_path / "model.safetensors")
    _pickle(tmp_path / "training_args.bin")  # never read while model.safetensors is there
    assert weights_fault(tmp_path) is None


def test_every_file_that_would_be_unpickled_is_named(tmp_path):
    _pickle(tmp_path / "pytorch_model.bin")
    _pickle(tmp_path / "a.pt")
    assert weights_fault(tmp_path).startswith(f"{tmp_path / 'pytorch_model.bin'} is a pickle;")
    (tmp_path / "pytorch_model.bin").unlink()
    assert weights_fault(tmp_path).startswith(f"{tmp_path / 'a.pt'} is a pickle;")
    # a .bin in the safetensors format is no pickle (and transformers would not read it as weights)
    (tmp_path / "a.pt").unlink()
    _safetensors(tmp_path / "x.bin")
    assert weights_fault(tmp_path) is None


def test_shards_and_config_named_weights_are_checked(tmp_path):
    shard = _safetensors(tmp_path / "model-00001-of-00002.safetensors")
    bad = _pickle(tmp_path / "model-00002-of-00002.safetensors")
    index = {"weight_map": {"a": shard.name, "b": bad.name}}
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps(index))
    assert weights_fault(tmp_path).startswith(f"{bad} is a pickle;")
    # config.json's transformers_weights is what transformers reads, before model.safetensors
    _safetensors(tmp_path / "model.safetensors")
    (tmp_path / "config.json").write_text(json.dumps({"transformers_weights": "adapter_model.bin"}))
    _pickle(tmp_path / "adapter_model.bin")
    assert weights_fault(tmp_path).startswith(f"{tmp_path / 'adapter_model.bin'} is a pickle;")


def test_a_damaged_safetensors_file_is_named(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"\x00" * 64)
    assert weights_fault(tmp_path) == (
        f"{tmp_path / 'model.safetensors'} is not a safetensors file (its header does not read as one): the export "
        "is damaged or replaced"
    )


def _index(tmp_path, columns: dict[str, str]):
    shard = {"column_names": list(columns), "column_encodings": list(columns.values()), "format": "mds"}
    shard["raw_data"] = {"basename": "shard.00000.mds"}
    (tmp_path / "index.json").write_text(json.dumps({"version": 2, "shards": [shard]}))
    return tmp_path / "index.json"


@pytest.mark.parametrize(
    "columns, fault",
    [
        ({"input_ids": "ndarray:uint16", "length": "int32", "docket": "str"}, None),
        ({"input_ids": "ndarray:uint32", "source": "json", "score": "float32"}, None),
        ({"input_ids": "ndarray:uint16", "extra": "pkl"}, "column 'extra' is encoded as 'pkl', a pickle"),
        ({"input_ids": "ndarray:uint16", "scan": "jpeg"}, "column 'scan' has the encoding 'jpeg', which docketbert"),
        ({"input_ids": "ndarray:uint16", "length": "str"}, "column 'length' is encoded as 'str', not int32"),
        ({"docket": "str"}, "has no input_ids column (its columns: docket)"),
    ],
)
def test_shard_columns(tmp_path, columns, fault):
    found = shard_column_fault(_index(tmp_path, columns))
    if fault is None:
        assert found is None
    else:
        assert found.startswith(f"{tmp_path / 'index.json'}: shard shard.00000.mds ") and fault in found, found


def test_path_faults(tmp_path):
    (tmp_path / "f").write_text("x")
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    assert input_file_fault(tmp_path / "f") is None
    assert input_file_fault(tmp_path / "nope") == "does not exist"
    assert input_file_fault(tmp_path) == "is a directory, not a file"
    assert input_file_fault("/dev/null") == "is a character device, not a regular file"
    assert input_file_fault(tmp_path / "fifo") == "is a named pipe (FIFO), not a regular file"
    assert input_file_fault(tmp_path / "dangling") == f"is a symbolic link to {tmp_path / 'gone'}, which does not exist"
    assert output_dir_fault(tmp_path / "new" / "deeper") is None
    assert output_dir_fault(tmp_path / "f" / "x") == f"{tmp_path / 'f'} is a file, not a directory"
    assert output_dir_fault("/dev/null/x") == "/dev/null is a character device, not a directory"
