"""Autoresume is bit-exact: a run SIGKILLed at random points and re-run with the same command ends with the final
weights and metrics of an uninterrupted run, on unpacked and on packed batches, with loader workers and dropout.

Each mode runs one uninterrupted reference and one run killed three times (once just after a checkpoint, twice at
random batches between checkpoints or after them), each kill followed by the same command: 3 kill points per mode.
Every run is a real `docketbert/train.py` process (real Composer Trainer, StreamingDataset on the MDS fixture)."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from stray_processes import wait_until_gone
from tiny_models import WritesMarker, train_command

pytestmark = pytest.mark.integration  # training runs killed and resumed in subprocesses

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "yamls" / "tiny.yaml"
BATCHES = 12
SAVE_EVERY = 3


def command(mds_dir, tokenizer_dir, run_root, packed: bool) -> list[str]:
    return train_command(
        mds_dir,
        tokenizer_dir,
        run_root,
        **{
            "loggers.console_log_interval": "1ba",
            "device_train_microbatch_size": 4,  # gradient accumulation is resumed too
            "data.max_seq_len": 64,
            "data.eval_subset_num_batches": 1,
            "max_duration": f"{BATCHES}ba",
            "save_interval": f"{SAVE_EVERY}ba",
            "eval_interval": f"{BATCHES}ba",
            "save_num_checkpoints_to_keep": 2,
            "model.config.mlp_dropout": 0.1,  # a random draw in every step: RNG states must resume too
            "model.config.num_hidden_layers": 2,
            "data.packing": packed,
            "data.packing_buffer": 256,
            "data.num_workers": 2 if packed else 1,
        },
    )


# Marks every process these tests start (their loader workers and fork servers inherit it): none may outlive them.
MARK = f"resume-{uuid.uuid4().hex}"


def start(args: list[str], log_path: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_API")}
    env.update({"WANDB_MODE": "offline", "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "DOCKETBERT_TEST_MARK": MARK})
    log = open(log_path, "a")  # noqa: SIM115 - the child process writes it until it ends
    return subprocess.Popen(args, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)


def latest_checkpoint(run_dir: Path) -> int:
    link = run_dir / "checkpoints" / "latest-rank0.pt"
    return int(re.search(r"-ba(\d+)-", os.readlink(link)).group(1)) if link.is_symlink() else 0


def kill_when(proc: subprocess.Popen, ready, log_path: Path, what: str) -> None:
    deadline = time.time() + 300
    while not ready():
        assert proc.poll() is None, f"run ended before {what}: " + log_path.read_text()[-3000:]
        assert time.time() < deadline, f"not at {what} after 300 s"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def finish(args, log_path: Path) -> None:
    proc = start(args, log_path)
    assert proc.wait(timeout=900) == 0, log_path.read_text()[-3000:]


def final_state(run_dir: Path) -> tuple[dict[str, torch.Tensor], dict]:
    metrics = json.loads((run_dir / "metrics.json").read_text())
    metrics.pop("hf_export", None)  # the path differs between run roots
    return load_file(run_dir / "hf" / "model.safetensors"), metrics


@pytest.mark.parametrize(
    "packed",
    # The unpacked loader resumes through the same checkpoint and sampler state as the packed one, and costs the
    # suite as long: it runs with the slow tests.
    [pytest.param(False, id="unpacked", marks=pytest.mark.slow), pytest.param(True, id="packed")],
)
def test_killed_runs_resume_bit_exactly(mds_dir, tokenizer_dir, tmp_path, packed):
    rng = random.Random()
    seed = rng.randrange(1 << 30)
    rng.seed(seed)
    reference_root, killed_root = tmp_path / "reference", tmp_path / "killed"
    reference = start(command(mds_dir, tokenizer_dir, reference_root, packed), tmp_path / "reference.log")

    args = command(mds_dir, tokenizer_dir, killed_root, packed)
    run_dir, log_path = killed_root / "tiny", tmp_path / "killed.log"
    # Kill 1 right after a checkpoint; kills 2 and 3 at random batches (mid-interval or on a checkpoint).
    first_checkpoint = SAVE_EVERY * rng.randint(1, 2)
    proc = start(args, log_path)
    kill_when(proc, lambda: latest_checkpoint(run_dir) >= first_checkpoint, log_path, f"checkpoint {first_checkpoint}")
    points = [f"checkpoint {latest_checkpoint(run_dir)}"]
    for _ in range(2):
        resumed = latest_checkpoint(run_dir)
        target = rng.randint(resumed + 1, BATCHES - 1)
        offset = len(log_path.read_text())
        proc = start(args, log_path)

        def reached(target=target, offset=offset):
            return batches_logged_after(log_path, offset) >= target

        kill_when(proc, reached, log_path, f"batch {target}")
        points.append(f"batch {target} (resumed from {resumed})")
    finish(args, log_path)
    assert reference.wait(timeout=900) == 0, (tmp_path / "reference.log").read_text()[-3000:]

    log = log_path.read_text()
    assert log.count("Autoresuming training from checkpoint") >= 3, log[-3000:]
    want_weights, want_metrics = final_state(reference_root / "tiny")
    got_weights, got_metrics = final_state(run_dir)
    context = f"seed {seed}, kills at {points}"
    assert got_metrics == want_metrics, (context, got_metrics, want_metrics)
    assert got_weights.keys() == want_weights.keys()
    for name, tensor in want_weights.items():
        assert torch.equal(got_weights[name], tensor), (context, name, (got_weights[name] - tensor).abs().max())
    # Exactly save_num_checkpoints_to_keep checkpoints remain, the killed processes' extras pruned.
    assert len(list((run_dir / "checkpoints").glob("ep*-ba*-rank0.pt"))) == 2, context
    # No loader worker or fork server of a killed run, or of a finished one, is left.
    assert wait_until_gone(MARK) == [], context


def batches_logged_after(log_path: Path, offset: int) -> int:
    found = re.findall(r"\[batch=(\d+)/\d+\]", log_path.read_text()[offset:])
    return max((int(b) for b in found), default=0)


def tiny_run(mds_dir, tokenizer_dir, run_root, **extra) -> list[str]:
    values = {
        "tokenizer": tokenizer_dir,
        "data.path": mds_dir,
        "run_root": run_root,
        "loggers.progress_bar": False,
        "loggers.tensorboard": False,
        "global_train_batch_size": 8,
        "device_train_microbatch_size": 8,
        "data.max_seq_len": 64,
        "data.eval_subset_num_batches": 1,
        "data.num_workers": 0,
        "model.config.num_hidden_layers": 1,
        "save_num_checkpoints_to_keep": 2,
        "device": "cpu",
        **extra,
    }
    return [f"{k}={v}" for k, v in values.items()]


def test_broken_checkpoint_is_moved_aside_and_extras_pruned(mds_dir, tokenizer_dir, tmp_path, caplog):
    """A truncated newest checkpoint (a full disk, a crash mid-write): warned about, moved aside as `.corrupt`,
    and the run resumes from the newest whole one; a leftover beyond save_num_checkpoints_to_keep is pruned."""
    import shutil

    from docketbert.config import load_config
    from docketbert.training.trainer import build_trainer

    def run(duration):
        args = tiny_run(mds_dir, tokenizer_dir, tmp_path, max_duration=duration, save_interval="2ba")
        trainer = build_trainer(load_config([TINY], [*args, f"eval_interval={duration}"]))
        return trainer

    trainer = run("4ba")
    trainer.fit()
    trainer.close()
    folder = tmp_path / "tiny" / "checkpoints"
    assert sorted(p.name for p in folder.glob("ep*.pt")) == ["ep0-ba2-rank0.pt", "ep0-ba4-rank0.pt"]
    newest = folder / "ep0-ba4-rank0.pt"
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 2])
    shutil.copy(folder / "ep0-ba2-rank0.pt", folder / "ep0-ba1-rank0.pt")  # a killed process's unpruned extra
    (tmp_path / "tiny" / "metrics.json").unlink()

    with caplog.at_level("WARNING", logger="docketbert.training.checkpoints"):
        trainer = run("6ba")
    assert int(trainer.state.timestamp.batch) == 2
    assert any("does not load" in r.message and "ep0-ba4-rank0.pt" in r.message for r in caplog.records)
    assert (folder / "ep0-ba4-rank0.pt.corrupt").exists()
    trainer.fit()
    trainer.close()
    assert json.loads((tmp_path / "tiny" / "metrics.json").read_text())["batches"] == 6
    assert sorted(p.name for p in folder.glob("ep*.pt")) == ["ep0-ba4-rank0.pt", "ep0-ba6-rank0.pt"]
    assert (folder / "latest-rank0.pt").resolve().name == "ep0-ba6-rank0.pt"


def test_a_planted_checkpoint_runs_nothing(mds_dir, tokenizer_dir, tmp_path, capsys):
    from composer.utils import checkpoint as composer_checkpoint

    from docketbert import train
    from docketbert.training.checkpoints import UnsafeCheckpointError, safe_checkpoint_loading

    marker = tmp_path / "pwned"
    folder = tmp_path / "tiny" / "checkpoints"
    folder.mkdir(parents=True)
    planted = folder / "ep0-ba2-rank0.pt"
    torch.save({"state": {"payload": WritesMarker(marker)}, "rng": []}, planted)
    (folder / "latest-rank0.pt").symlink_to(planted.name)

    rc = train.main([str(TINY), *tiny_run(mds_dir, tokenizer_dir, tmp_path, max_duration="4ba")])
    err = capsys.readouterr().err
    assert rc == 2 and not marker.exists()
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"checkpoint error: checkpoint {planted} would construct") and "open" in last, last

    # Composer's own loader, as the Trainer calls it, refuses it too (weights_only with the allowlist).
    with safe_checkpoint_loading(), pytest.raises(UnsafeCheckpointError, match="refused by the safe loader"):
        composer_checkpoint._torch_load_with_validation(str(planted), map_location="cpu")
    assert not marker.exists()
    assert composer_checkpoint._torch_load_with_validation.__module__ == "composer.utils.checkpoint"
