"""Jobs that share a machine do not break each other: training runs started at the same instant and one started
while another trains, with to_mds writing shards and a fine-tune training beside them, each end exactly as they
would alone; and no process they started outlives them.

Every run is a real `docketbert/train.py` process (real Composer Trainer, StreamingDataset with a loader worker, so
each run holds streaming's shared memory while the others start)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from stray_processes import wait_until_gone
from tiny_models import save_tiny_model, to_mds_args, train_command

pytestmark = pytest.mark.integration  # training runs side by side in subprocesses

REPO = Path(__file__).resolve().parents[2]
BATCHES = 10


def train_args(mds_dir, tokenizer_dir, run_root) -> list[str]:
    return train_command(
        mds_dir,
        tokenizer_dir,
        run_root,
        **{
            "loggers.console_log_interval": "1ba",
            "device_train_microbatch_size": 8,
            "data.max_seq_len": 64,
            "data.eval_subset_num_batches": 1,
            "data.num_workers": 1,
            "model.config.num_hidden_layers": 1,
            "model.config.mlp_dropout": 0.1,
            "max_duration": f"{BATCHES}ba",
            "eval_interval": f"{BATCHES}ba",
            "save_interval": f"{BATCHES}ba",
        },
    )


def start(args: list[str], log_path: Path, token: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_API")}
    env.update({"WANDB_MODE": "offline", "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "DOCKETBERT_TEST_MARK": token})
    log = open(log_path, "w")  # noqa: SIM115 - the child process writes it until it ends
    return subprocess.Popen(args, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)


def finetune_args(task_file: Path, init: Path, out: Path) -> list[str]:
    args = ["--task", "entry_type", "--train", str(task_file), "--init", str(init), "--output", str(out)]
    args += ["--epochs", "2", "--batch-size", "8", "--no-baselines", "--max-length", "32", "--device", "cpu"]
    return [sys.executable, "-m", "docketbert.finetune", *args]


def task_file(path: Path) -> Path:
    labels = ["motion", "order", "notice"]
    rows = [
        {"text": f"{labels[i % 3].upper()} number {i} re docket {i % 7}", "label": labels[i % 3], "case": f"c{i % 9}"}
        for i in range(48)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def weights(run_root: Path) -> dict[str, torch.Tensor]:
    return load_file(run_root / "tiny" / "hf" / "model.safetensors")


def assert_same_weights(got: dict[str, torch.Tensor], want: dict[str, torch.Tensor], name: str) -> None:
    assert got.keys() == want.keys(), name
    for key, tensor in want.items():
        assert torch.equal(got[key], tensor), (name, key)


def shard_digests(out: Path) -> dict[str, str]:
    return {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file() and (p.suffix == ".zstd" or p.name == "index.json")
    }


def test_runs_side_by_side_end_as_alone(mds_dir, corpus, tokenizer_dir, tmp_path):
    token = f"side-by-side-{uuid.uuid4().hex}"
    alone = start(train_args(mds_dir, tokenizer_dir, tmp_path / "alone"), tmp_path / "alone.log", token)
    assert alone.wait(timeout=600) == 0, (tmp_path / "alone.log").read_text()[-3000:]
    init, tasks = save_tiny_model(tmp_path / "init", tokenizer_dir, 1), task_file(tmp_path / "entry_type.jsonl")
    ft_alone = start(finetune_args(tasks, init, tmp_path / "ft-alone"), tmp_path / "ft-alone.log", token)
    assert ft_alone.wait(timeout=600) == 0, (tmp_path / "ft-alone.log").read_text()[-3000:]
    data_prep = [sys.executable, str(REPO / "data_prep" / "to_mds.py")]

    # Two runs at the same instant, to_mds beside them, and a third run and a fine-tune once the first is training.
    procs = {
        name: start(train_args(mds_dir, tokenizer_dir, tmp_path / name), tmp_path / f"{name}.log", token)
        for name in ("first", "second")
    }
    shards = tmp_path / "mds-beside"
    procs["to_mds"] = start([*data_prep, *to_mds_args(corpus, shards, tokenizer_dir)], tmp_path / "to_mds.log", token)
    deadline = time.time() + 600
    while not re.search(r"\[batch=[2-9]/", (tmp_path / "first.log").read_text()):
        assert procs["first"].poll() is None, (tmp_path / "first.log").read_text()[-3000:]
        assert time.time() < deadline, "the first run did not reach batch 2"
        time.sleep(0.1)
    procs["third"] = start(train_args(mds_dir, tokenizer_dir, tmp_path / "third"), tmp_path / "third.log", token)
    procs["ft"] = start(finetune_args(tasks, init, tmp_path / "ft"), tmp_path / "ft.log", token)
    for name, proc in procs.items():
        assert proc.wait(timeout=600) == 0, (name, (tmp_path / f"{name}.log").read_text()[-3000:])

    want = weights(tmp_path / "alone")
    for name in ("first", "second", "third"):
        assert_same_weights(weights(tmp_path / name), want, name)
        metrics = json.loads((tmp_path / name / "tiny" / "metrics.json").read_text())
        assert metrics["batches"] == BATCHES, (name, metrics)
    ft, ft_alone = (load_file(tmp_path / d / "model.safetensors") for d in ("ft", "ft-alone"))
    assert_same_weights(ft, ft_alone, "fine-tune")
    ft_metrics = json.loads((tmp_path / "ft" / "metrics.json").read_text())
    assert ft_metrics == json.loads((tmp_path / "ft-alone" / "metrics.json").read_text())
    # mds_dir was written alone, with the same arguments.
    assert shard_digests(shards) == shard_digests(mds_dir) != {}
    assert wait_until_gone(token) == [], "processes of the finished runs are still alive"


def test_cleaning_leaves_a_live_jobs_segments_alone(tmp_path):
    """A segment that a live process maps survives the clean (streaming's own clean unlinks it); a dead job's
    segments and its prefix's lock files go."""
    from multiprocessing import resource_tracker
    from multiprocessing.shared_memory import SharedMemory

    from docketbert.data.shared_memory import SHM_ROOT, clean_stale_segments, segments_in_use

    live_name, dead_name = 990000 + os.getpid() % 5000, 995000 + os.getpid() % 5000
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from multiprocessing.shared_memory import SharedMemory\n"
            f"m = SharedMemory('{live_name:06}_locals', create=True, size=64)\n"
            "print('ready', flush=True)\n"
            "sys.stdin.read()\n"
            "m.close(); m.unlink()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        dead = SharedMemory(f"{dead_name:06}_barrier", create=True, size=64)
        resource_tracker.unregister(dead._name, "shared_memory")
        dead.close()  # no process holds it now: a killed job's leftover
        (tmp_path / f"{dead_name:06}_cache_filelock").write_text("")
        (tmp_path / f"{live_name:06}_cache_filelock").write_text("")
        assert f"{live_name:06}_locals" in segments_in_use()
        cleaned = clean_stale_segments(lock_dir=str(tmp_path))
        assert dead_name in cleaned and live_name not in cleaned
        assert (SHM_ROOT / f"{live_name:06}_locals").exists()
        assert not (SHM_ROOT / f"{dead_name:06}_barrier").exists()
        assert not (tmp_path / f"{dead_name:06}_cache_filelock").exists()
        assert (tmp_path / f"{live_name:06}_cache_filelock").exists()
    finally:
        holder.communicate("", timeout=30)
    assert not (SHM_ROOT / f"{live_name:06}_locals").exists()
