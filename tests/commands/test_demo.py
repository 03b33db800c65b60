"""The README's first command, at a tiny size: synthetic corpus -> tokenizer -> shards -> tiny.yaml -> export."""

import json

import pytest
from transformers import AutoModelForMaskedLM

from docketbert.demo import main as demo


@pytest.mark.integration
def test_demo_runs_end_to_end_and_resumes(tmp_path, capsys):
    args = [
        "--workdir",
        str(tmp_path / "demo"),
        "--run-root",
        str(tmp_path / "runs"),
        "--dockets",
        "40",
        "--vocab-size",
        "1024",
        "max_duration=6ba",
        "eval_interval=6ba",
        "save_interval=6ba",
        "data.eval_subset_num_batches=1",
        "loggers.progress_bar=false",
    ]
    assert demo(args) == 0
    out = capsys.readouterr().out
    assert "demo done" in out and "tensorboard --logdir" in out
    stats = json.loads((tmp_path / "demo" / "mds" / "stats.json").read_text())
    assert stats["splits"]["train"]["entries"] > 0 and stats["splits"]["eval"]["entries"] > 0
    metrics = json.loads((tmp_path / "runs" / "tiny" / "metrics.json").read_text())
    assert metrics["batches"] == 6 and metrics["eval_loss"] > 0
    assert AutoModelForMaskedLM.from_pretrained(tmp_path / "runs" / "tiny" / "hf").config.num_hidden_layers == 4
    # A second run finds every step done.
    assert demo(args) == 0
    assert "already" in capsys.readouterr().out
