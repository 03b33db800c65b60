"""Training across machines through object storage, against a real S3-compatible server (tests/s3_server.py):
shards read from the bucket, checkpoints and the export written to it, and a run whose node is lost (SIGKILLed,
its disk wiped) resumed on a fresh one from the bucket alone, to the weights of an uninterrupted run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from s3_server import SECRET_KEY, S3Server, s3_environment
from safetensors.torch import load_file
from tiny_models import WritesMarker, tiny_overrides

from docketbert.core.object_store import Store

pytestmark = pytest.mark.integration  # a server, and training runs in subprocesses

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "yamls" / "tiny.yaml"


@pytest.fixture(scope="module")
def bucket(s3, mds_dir) -> str:
    """A bucket holding the test shards under mds/."""
    name = s3.new_bucket()
    Store(f"s3://{name}/mds").upload_tree(mds_dir)
    return name


def command(world: int, mds, tokenizer_dir, run_root: Path, **extra) -> list[str]:
    launcher = [str(Path(sys.executable).parent / "composer"), "-n", str(world)] if world > 1 else [sys.executable]
    values = {
        "max_duration": "8ba",
        "save_interval": "2ba",
        "eval_interval": "8ba",
        "save_num_checkpoints_to_keep": 2,
        "model.config.num_hidden_layers": 2,
        "model.config.mlp_dropout": 0.1,  # a random draw in every step: RNG states must resume too
        "data.num_workers": 1,
        "data.max_seq_len": 64,
        "data.eval_subset_num_batches": 1,
        "loggers.console_log_interval": "1ba",
        **extra,
    }
    return [
        *launcher,
        str(REPO / "docketbert" / "train.py"),
        str(TINY),
        *tiny_overrides(mds, tokenizer_dir, run_root, **values),
    ]


def run(args: list[str], log: Path) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "offline", "HF_HUB_OFFLINE": "1"}
    with open(log, "a") as out:
        return subprocess.Popen(args, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


# Both take minutes (three training runs each): they run with the slow tests; the default suite resumes from the
# bucket through the truncated-checkpoint test below, in one process.
@pytest.mark.slow
@pytest.mark.parametrize("world", [pytest.param(1, id="one-process"), pytest.param(2, id="two-processes")])
def test_a_lost_node_resumes_from_the_bucket(bucket, tokenizer_dir, mds_dir, tmp_path, world):
    reference = run(command(world, mds_dir, tokenizer_dir, tmp_path / "reference"), tmp_path / "reference.log")

    node = tmp_path / "node"  # the lost node's disk: run root and shard cache
    remote = f"s3://{bucket}/runs-{world}"
    args = command(
        world,
        f"s3://{bucket}/mds",
        tokenizer_dir,
        node / "runs",
        **{"data.local": node / "cache", "remote_folder": remote},
    )
    log = tmp_path / "killed.log"
    store = Store(f"{remote}/tiny")
    proc = run(args, log)
    deadline = time.time() + 600
    while not store.exists("checkpoints", "ep0-ba4-rank0.pt"):
        assert proc.poll() is None, log.read_text()[-3000:]
        assert time.time() < deadline, "no checkpoint reached the bucket"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not store.exists("metrics.json")
    shutil.rmtree(node)  # the node is gone: a fresh one has only the bucket

    assert run(args, log).wait(timeout=900) == 0, log.read_text()[-3000:]
    assert reference.wait(timeout=900) == 0, (tmp_path / "reference.log").read_text()[-3000:]
    text = log.read_text()
    assert "downloading ep0-ba4-rank0.pt" in text and "Autoresuming training from checkpoint" in text, text[-3000:]
    want = load_file(tmp_path / "reference" / "tiny" / "hf" / "model.safetensors")
    got = load_file(node / "runs" / "tiny" / "hf" / "model.safetensors")
    assert got.keys() == want.keys()
    for name, tensor in want.items():
        assert torch.equal(got[name], tensor), name
    # the bucket holds the export, the records and exactly the kept checkpoints
    keys = set(store.keys())
    assert {"hf/model.safetensors", "hf/config.json", "metrics.json", "run_info.json", "config.yaml"} <= keys
    assert sorted(k for k in keys if k.startswith("checkpoints/")) == [
        "checkpoints/ep0-ba6-rank0.pt",
        "checkpoints/ep0-ba8-rank0.pt",
    ]
    assert json.loads(store.read_text("metrics.json"))["batches"] == 8
    # no credential in a log line or a file of the run
    assert SECRET_KEY not in text
    for path in (node / "runs").rglob("*"):
        if path.is_file() and path.suffix in (".json", ".yaml", ".log", ".txt", ""):
            assert SECRET_KEY not in path.read_text(errors="replace"), path


def _tiny(mds, tokenizer_dir, run_root, **extra) -> list[str]:
    return [str(TINY), *tiny_overrides(mds, tokenizer_dir, run_root, **{"data.num_workers": 0, **extra})]


def test_a_planted_remote_checkpoint_runs_nothing(bucket, mds_dir, tokenizer_dir, tmp_path, capsys):
    from docketbert import train

    marker = tmp_path / "pwned"
    planted = tmp_path / "ep0-ba2-rank0.pt"
    torch.save({"state": {"payload": WritesMarker(marker)}, "rng": []}, planted)
    remote = f"s3://{bucket}/planted"
    Store(f"{remote}/tiny").upload(planted, "checkpoints", planted.name)
    rc = train.main(_tiny(mds_dir, tokenizer_dir, tmp_path / "runs", remote_folder=remote))
    err = capsys.readouterr().err
    assert rc == 2 and not marker.exists() and "Traceback" not in err
    assert "would construct" in err.strip().splitlines()[-1] and "open" in err, err[-2000:]


def test_remote_refusals_are_one_line_before_a_model_is_built(bucket, mds_dir, tokenizer_dir, tmp_path, capsys):
    from docketbert import train

    cases = [
        ({"data.path": f"s3://missing-{bucket}/mds", "data.local": tmp_path / "c"}, "does not exist"),
        ({"data.path": f"s3://{bucket}/nothing", "data.local": tmp_path / "c"}, "index.json missing"),
        ({"remote_folder": f"s3://missing-{bucket}/runs"}, "does not exist"),
        ({"remote_folder": "s3://KEY:SECRET@b/runs"}, "holds credentials"),
        ({"remote_folder": "gs://b/runs"}, "only s3://"),
    ]
    for extra, words in cases:
        assert train.main(_tiny(mds_dir, tokenizer_dir, tmp_path / "runs", **extra)) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("config error:") and words in err and len(err.splitlines()) == 1, (extra, err)
    saved = {k: os.environ.pop(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    try:
        assert train.main(_tiny(mds_dir, tokenizer_dir, tmp_path / "runs", remote_folder=f"s3://{bucket}/r")) == 2
    finally:
        os.environ.update(saved)
    err = capsys.readouterr().err.strip()
    assert "no S3 credentials" in err and len(err.splitlines()) == 1, err
    denied = S3Server(tmp_path, auth=True).start()
    try:
        with s3_environment(denied):
            assert train.main(_tiny(mds_dir, tokenizer_dir, tmp_path / "runs", remote_folder="s3://b/r")) == 2
    finally:
        denied.stop()
    err = capsys.readouterr().err.strip()
    assert "access denied" in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "runs" / "tiny" / "checkpoints").exists()


def test_a_truncated_remote_checkpoint_is_moved_aside_and_the_previous_one_resumes(
    bucket, mds_dir, tokenizer_dir, tmp_path, caplog
):
    """The newest checkpoint in the bucket cut short (a copy tool that died, a full disk on upload): the fresh node
    downloads it, moves it aside as it would a local one, and resumes from the whole one before it."""
    from docketbert import train

    remote = f"s3://{bucket}/truncated"
    store = Store(f"{remote}/tiny")
    first = tmp_path / "first"
    common = {"remote_folder": remote, "save_interval": "2ba", "save_num_checkpoints_to_keep": 3}
    assert train.main(_tiny(mds_dir, tokenizer_dir, first, max_duration="4ba", **common)) == 0
    assert store.exists("checkpoints", "ep0-ba4-rank0.pt")
    whole = first / "tiny" / "checkpoints" / "ep0-ba4-rank0.pt"
    cut = tmp_path / "ep0-ba6-rank0.pt"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    store.upload(cut, "checkpoints", cut.name)

    fresh = tmp_path / "fresh"
    with caplog.at_level("WARNING"):
        assert train.main(_tiny(mds_dir, tokenizer_dir, fresh, max_duration="6ba", **common)) == 0
    folder = fresh / "tiny" / "checkpoints"
    assert (folder / "ep0-ba6-rank0.pt.corrupt").exists()
    assert "does not load" in caplog.text
    assert json.loads((fresh / "tiny" / "metrics.json").read_text())["batches"] == 6
    # written again by the resumed run, and uploaded over the cut one
    assert store.sizes("checkpoints")["checkpoints/ep0-ba6-rank0.pt"] == (folder / "ep0-ba6-rank0.pt").stat().st_size
    assert store.read_text("metrics.json") is not None
