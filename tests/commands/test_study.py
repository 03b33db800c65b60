"""The study runner: dependency order, skipping finished runs, --only, and (slow) a tiny study end to end."""

import json
import subprocess
import sys

import pytest
from tiny_models import REPO, YAMLS, load_export, tiny_overrides, tiny_shape_overrides

from docketbert.study import load_runs, main, order, select


def test_order_puts_exports_before_their_users(tmp_path):
    runs = load_runs(YAMLS, [f"run_root={tmp_path}"])
    assert len(runs) == 25 and "tiny" not in runs
    plan = order(runs, select(runs, None))
    assert sorted(plan) == sorted(runs)
    before = {name: i for i, name in enumerate(plan)}
    large, base = "docketbert-large-395M", "docketbert-base-150M"
    for name in (
        "docketbert-sliced-large-ft-interleaved-10l-175M",
        "docketbert-sliced-large-ft-first-6l-126M",
        "docketbert-distill-sliced-large-ft-interleaved-8l-150M",
    ):
        assert before[large] < before[name] and runs[name].needs == [large]
    assert before[base] < before["docketbert-distill-base-27M"]
    assert runs["docketbert-final-sliced-large-ft-interleaved-10l-175M"].needs == ["docketbert-final-large-395M"]
    assert runs["docketbert-sliced-large-interleaved-10l-175M"].needs == []  # an HF name, not a run


def test_only_adds_dependencies_and_dry_run_skips_finished(tmp_path, capsys):
    done = tmp_path / "docketbert-large-395M"
    done.mkdir()
    (done / "metrics.json").write_text("{}")
    assert main(["--only", "distill_sliced_large_ft_interleaved_10l", "--dry-run", f"run_root={tmp_path}"]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line[:3].strip().rstrip(".").isdigit()]
    assert len(lines) == 2
    assert "docketbert-large-395M [done, skipped]" in lines[0]
    assert "docketbert-distill-sliced-large-ft-interleaved-10l-175M [to run]" in lines[1]
    assert "yamls/distill_sliced_large_ft_interleaved_10l.yaml" in out and f"run_root={tmp_path}" in out
    assert main(["--only", "no-such-run", "--dry-run"]) == 2


@pytest.mark.slow
def test_tiny_study_end_to_end(mds_dir, tokenizer_dir, tmp_path):
    """Three runs through `composer docketbert/train.py`: a scratch source, its slice, and a distillation from it."""
    yamls = tmp_path / "yamls"
    yamls.mkdir()
    (yamls / "_reference.yaml").write_text((YAMLS / "_reference.yaml").read_text())
    (yamls / "src.yaml").write_text(
        "defaults: [_reference.yaml]\nrun_name: src\nmodel: {config: {num_hidden_layers: 6}}\n"
    )
    (yamls / "slice.yaml").write_text(
        "defaults: [_reference.yaml]\nrun_name: slice\nmodel: {init: src}\n"
        "algorithms: {layer_slicing: {mode: interleaved, num_layers: 3}}\n"
    )
    (yamls / "kd.yaml").write_text(
        "defaults: [_reference.yaml]\nrun_name: kd\nmodel: {config: {num_hidden_layers: 2}}\n"
        "callbacks: {distillation: {teacher: src}}\n"
    )
    runs = tmp_path / "runs"
    shape = {k: v for k, v in tiny_shape_overrides().items()}
    args = tiny_overrides(mds_dir, tokenizer_dir, runs, max_duration="2ba", **shape)
    cmd = [sys.executable, "-m", "docketbert.study", "--yamls", str(yamls), *args]
    result = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout.index("1. src") < result.stdout.index("slice") and "study finished: 3 runs" in result.stdout
    assert load_export(runs / "slice").config.num_hidden_layers == 3
    assert json.loads((runs / "slice" / "run_info.json").read_text())["slicing"]["layers"] == [0, 2, 4]
    assert load_export(runs / "kd").config.num_hidden_layers == 2
    again = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and again.stdout.count("[done, skipped]") == 3


def test_only_then_overrides_parse_as_the_usage_line_shows(tmp_path, capsys):
    """`study --only NAME key=value` (the usage line's order): the override applies to the run and is not read as a
    second name."""
    assert main(["--only", "scratch7m", f"run_root={tmp_path}", "max_duration=7ba", "--dry-run"]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line[:3].strip().rstrip(".").isdigit()]
    assert len(lines) == 1 and "[to run]" in lines[0]
    assert "yamls/scratch7m.yaml" in out and f"run_root={tmp_path} max_duration=7ba" in out
    assert main(["run_root=/elsewhere", "--only", "scratch7m", f"run_root={tmp_path}", "--dry-run"]) == 0
    assert f"run_root=/elsewhere run_root={tmp_path}" in capsys.readouterr().out  # the later one wins
