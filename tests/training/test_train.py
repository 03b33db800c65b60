"""End to end on the entry corpus (real, or generated without ../shared): MDS shards -> the real Composer Trainer
-> checkpoints, resume, HF export."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForMaskedLM

from docketbert.config import load_config
from docketbert.training.trainer import build_trainer

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "yamls" / "tiny.yaml"


def overrides(mds_dir, tokenizer_dir, run_root, **extra):
    values = {
        "tokenizer": tokenizer_dir,
        "data.path": mds_dir,
        "run_root": run_root,
        "loggers.progress_bar": False,
        "global_train_batch_size": 16,
        "device_train_microbatch_size": 16,
        **extra,
    }
    return [f"{k}={v}" for k, v in values.items()]


@pytest.mark.integration
def test_train_eval_export(mds_dir, tokenizer_dir, tmp_path):
    cfg = load_config(
        [TINY],
        overrides(
            mds_dir,
            tokenizer_dir,
            tmp_path,
            max_duration="40ba",
            eval_interval="40ba",
            save_interval="40ba",
            **{"data.eval_subset_num_batches": 4},
        ),
    )
    trainer = build_trainer(cfg)
    trainer.eval()
    initial = float(trainer.state.eval_metric_values["LanguageCrossEntropy"])
    trainer.fit()
    run_dir = tmp_path / "tiny"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["batches"] == 40 and metrics["samples"] == 640
    assert 0 < metrics["eval_loss"] < initial - 0.5, (initial, metrics)
    # SpeedMonitor counts real tokens: fewer than the padded batch would give.
    assert 0 < metrics["tokens"] < 40 * 16 * 256
    info = json.loads((run_dir / "run_info.json").read_text())
    assert info["attn_implementation"] == "sdpa" and info["precision"] == "fp32" and info["device"] == "cpu"
    assert (run_dir / "checkpoints" / "latest-rank0.pt").exists()
    assert list((run_dir / "tb").rglob("events.out.tfevents*"))

    trained = trainer.state.model.model.eval()
    exported = AutoModelForMaskedLM.from_pretrained(run_dir / "hf").eval()
    ids = torch.tensor([[1, 50, 60, 70, 80, 2], [1, 90, 91, 2, 3, 3]])
    mask = torch.tensor([[1] * 6, [1, 1, 1, 1, 0, 0]])
    with torch.no_grad():
        # real tokens only: the trained model's padding positions attend to themselves (install_padding_safe_masks)
        real = mask.bool()
        assert torch.allclose(
            trained(input_ids=ids, attention_mask=mask).logits[real],
            exported(input_ids=ids, attention_mask=mask).logits[real],
            atol=1e-5,
        )
    trainer.close()


def run_cli(args, log_path, **popen_kwargs):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_API")}
    env.update({"WANDB_MODE": "offline", "OMP_NUM_THREADS": "1"})
    log = open(log_path, "w")  # noqa: SIM115 - the child process writes it until it ends
    return subprocess.Popen(
        [sys.executable, str(REPO / "docketbert" / "train.py"), *args],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        **popen_kwargs,
    )


def latest_batch(link: Path) -> int:
    """The batch of the checkpoint latest-rank0.pt points at, 0 while there is none."""
    if not link.is_symlink():
        return 0
    return int(re.search(r"-ba(\d+)-", os.readlink(link)).group(1))


@pytest.mark.slow  # test_resume.py kills and resumes real runs in the default suite, and checks bit-exactness
def test_killed_run_resumes_from_its_checkpoint(mds_dir, tokenizer_dir, tmp_path):
    args = [
        str(TINY),
        *overrides(
            mds_dir,
            tokenizer_dir,
            tmp_path,
            max_duration="50ba",
            save_interval="10ba",
            eval_interval="50ba",
            **{"loggers.console_log_interval": "1ba", "loggers.wandb.enabled": True, "data.eval_subset_num_batches": 2},
        ),
    ]
    checkpoints = tmp_path / "tiny" / "checkpoints"
    first = run_cli(args, tmp_path / "first.log")
    deadline = time.time() + 300
    latest = checkpoints / "latest-rank0.pt"
    # Composer writes a checkpoint, then repoints latest-rank0.pt at it; resume starts after the one it names.
    while latest_batch(latest) < 20:
        assert first.poll() is None, (tmp_path / "first.log").read_text()[-3000:]
        assert time.time() < deadline, "no checkpoint after 300 s"
        time.sleep(0.2)
    first.send_signal(signal.SIGKILL)
    first.wait()
    resumed_from = latest_batch(latest)
    assert 20 <= resumed_from < 50
    assert not (tmp_path / "tiny" / "metrics.json").exists()

    second = run_cli(args, tmp_path / "second.log")
    assert second.wait(timeout=600) == 0, (tmp_path / "second.log").read_text()[-3000:]
    log = (tmp_path / "second.log").read_text()
    assert "Autoresuming training from checkpoint" in log
    assert "[batch=50/50]" in log and f"[batch={resumed_from + 1}/50]" in log
    assert "[batch=1/50]" not in log and f"[batch={resumed_from}/50]" not in log
    metrics = json.loads((tmp_path / "tiny" / "metrics.json").read_text())
    assert metrics["batches"] == 50 and metrics["samples"] == 800
    assert list((tmp_path / "tiny" / "wandb").rglob("*.wandb"))  # W&B logged offline, no account needed

    third = run_cli(args, tmp_path / "third.log")
    assert third.wait(timeout=600) == 0
    assert "already reached max_duration" in (tmp_path / "third.log").read_text()


@pytest.mark.integration
def test_unknown_key_is_a_clear_cli_error(tmp_path):
    result = subprocess.run(
        [sys.executable, str(REPO / "docketbert" / "train.py"), str(TINY), "optimizer.lrr=1"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "unknown config key 'optimizer.lrr'" in result.stderr


@pytest.mark.slow  # a minute; `composer -n 2` also runs in the default suite through infer's two-process test
def test_ddp_two_processes_on_cpu(mds_dir, tokenizer_dir, tmp_path):
    """`composer -n 2` (gloo): each rank gets half of the global batch, and the model still learns."""
    composer = Path(sys.executable).parent / "composer"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    args = [
        str(TINY),
        *overrides(
            mds_dir,
            tokenizer_dir,
            tmp_path,
            max_duration="30ba",
            eval_interval="30ba",
            save_interval="30ba",
            **{"data.eval_subset_num_batches": 4},
        ),
    ]
    result = subprocess.run(
        [str(composer), "-n", "2", str(REPO / "docketbert" / "train.py"), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    info = json.loads((tmp_path / "tiny" / "run_info.json").read_text())
    metrics = json.loads((tmp_path / "tiny" / "metrics.json").read_text())
    assert info["world_size"] == 2
    assert metrics["batches"] == 30 and metrics["samples"] == 30 * 16
    assert metrics["eval_loss"] < 7.0  # ln(2048) = 7.6 for a model that knows nothing
    assert AutoModelForMaskedLM.from_pretrained(tmp_path / "tiny" / "hf") is not None


@pytest.mark.integration
def test_shards_streamed_from_a_remote(mds_dir, tokenizer_dir, tmp_path):
    """data.path as a remote (a filesystem path stands in for s3://, gs://) is streamed into data.local."""
    cache = tmp_path / "cache"
    cfg = load_config(
        [TINY],
        overrides(
            mds_dir,
            tokenizer_dir,
            tmp_path / "runs",
            max_duration="3ba",
            eval_interval="3ba",
            save_interval="3ba",
            **{"data.local": cache, "data.eval_subset_num_batches": 1},
        ),
    )
    trainer = build_trainer(cfg)
    trainer.fit()
    trainer.close()
    assert json.loads((tmp_path / "runs" / "tiny" / "metrics.json").read_text())["batches"] == 3
    assert list((cache / "train").rglob("*.mds*")) and (cache / "eval" / "index.json").exists()


@pytest.mark.integration
def test_resume_rewrites_a_checkpoint_orphaned_by_a_kill(mds_dir, tokenizer_dir, tmp_path):
    """Killed after writing ep0-ba4 but before latest-rank0.pt pointed at it: the re-run resumes from ba2 and
    writes ba4 again instead of refusing to overwrite it."""
    args = overrides(
        mds_dir,
        tokenizer_dir,
        tmp_path,
        max_duration="4ba",
        save_interval="2ba",
        eval_interval="4ba",
        **{"data.eval_subset_num_batches": 1},
    )
    trainer = build_trainer(load_config([TINY], args))
    trainer.fit()
    trainer.close()
    checkpoints = tmp_path / "tiny" / "checkpoints"
    latest = checkpoints / "latest-rank0.pt"
    latest.unlink()
    latest.symlink_to("ep0-ba2-rank0.pt")
    (tmp_path / "tiny" / "metrics.json").unlink()
    trainer = build_trainer(load_config([TINY], args))
    assert int(trainer.state.timestamp.batch) == 2
    trainer.fit()
    trainer.close()
    assert json.loads((tmp_path / "tiny" / "metrics.json").read_text())["batches"] == 4
    assert latest.resolve().name == "ep0-ba4-rank0.pt"
