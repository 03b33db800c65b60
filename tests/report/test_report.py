"""The benchmark callback and the results report, on run directories made by real tiny training runs and on
hand-made ones with missing pieces."""

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from docketbert.config import load_config
from docketbert.report.results import COLUMNS, collect, write_report
from docketbert.training.trainer import build_trainer

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "yamls" / "tiny.yaml"
PNG = b"\x89PNG\r\n\x1a\n"


def train(mds_dir, tokenizer_dir, run_root, name, batches, **extra):
    values = {
        "tokenizer": tokenizer_dir,
        "data.path": mds_dir,
        "run_root": run_root,
        "run_name": name,
        "loggers.progress_bar": False,
        "global_train_batch_size": 16,
        "device_train_microbatch_size": 16,
        "max_duration": f"{batches}ba",
        "eval_interval": f"{max(batches // 2, 1)}ba",
        "save_interval": f"{batches}ba",
        "data.eval_subset_num_batches": 2,
        **extra,
    }
    trainer = build_trainer(load_config([TINY], [f"{k}={v}" for k, v in values.items()]))
    trainer.fit()
    trainer.close()
    return run_root / name


@pytest.fixture(scope="module")
def runs(mds_dir, tokenizer_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    bench = {
        "callbacks.benchmark.cpu_entries": 20,
        "callbacks.benchmark.cpu_batch_size": 8,
        "callbacks.benchmark.gpu_entries": 40,
        "callbacks.benchmark.gpu_batch_sizes": "[8,4096]",
        "callbacks.benchmark.variants": "[seed,sorted]",  # the old name of `reference`, still accepted
    }
    train(mds_dir, tokenizer_dir, root, "benched", 8, **bench)
    train(mds_dir, tokenizer_dir, root, "plain", 4, export_hf=False)
    # A crashed run: it wrote its config, run info and TensorBoard logs, then died before metrics.json.
    crashed = root / "crashed"
    shutil.copytree(root / "plain", crashed, ignore=shutil.ignore_patterns("metrics.json", "checkpoints"))
    info = json.loads((crashed / "run_info.json").read_text())
    (crashed / "run_info.json").write_text(json.dumps({**info, "run_name": "crashed"}))
    # A hand-made run from a GPU machine with a benchmark on fewer entries than the protocol's.
    gpu = root / "nested" / "gpu-run"
    gpu.mkdir(parents=True)
    (gpu / "run_info.json").write_text(
        json.dumps(
            {"run_name": "gpu-run", "num_params": 149_655_232, "gpu": "NVIDIA H200", "device": "gpu", "cpu_count": 16}
        )
    )
    (gpu / "metrics.json").write_text(json.dumps({"eval_loss": 0.815, "tokens": 1000}))
    (gpu / "bench.json").write_text(
        json.dumps({"gpu_seconds": 4.6325, "gpu_entries": 10_000, "cpu_seconds": 68.642, "cpu_entries": 200})
    )
    (root / "not-a-run").mkdir()
    (root / "not-a-run" / "notes.txt").write_text("ignored")
    return root


@pytest.mark.integration
def test_bench_json_has_every_field(runs):
    bench = json.loads((runs / "benched" / "bench.json").read_text())
    for key in (
        "run_name",
        "created",
        "machine",
        "attn_implementation",
        "num_params_encoder",
        "gpu",
        "cpu",
        "gpu_seconds",
        "cpu_seconds",
        "gpu_entries",
        "cpu_entries",
        "variants",
        "source",
    ):
        assert key in bench, key
    for key in ("gpu_name", "cpu_count", "cpu_model", "torch", "transformers", "torch_threads"):
        assert key in bench["machine"], key
    assert bench["machine"]["torch"].startswith("2.11") and bench["machine"]["transformers"] == "5.17.0"
    assert bench["attn_implementation"] == "sdpa"
    assert bench["gpu"] == {"skipped": "no GPU on this machine"} and bench["gpu_seconds"] is None
    cpu = bench["cpu"]
    assert cpu["entries"] == 20 and cpu["data"]["split"] == "eval" and cpu["batch_sizes"] == [8]
    seed, fast = cpu["results"]["reference"], cpu["results"]["sorted"]
    assert seed["attn_implementation"] == "eager" and seed["dtype"] == "fp32" and seed["speedup"] == 1.0
    assert seed["batch_sizes"]["8"]["status"] == "ok" and seed["seconds"] == seed["batch_sizes"]["8"]["seconds"] > 0
    assert seed["best_batch_size"] == 8 and seed["entries"] == 20 and seed["real_tokens"] > 20
    assert fast["speedup"] > 0 and fast["order"] == "sorted"
    assert bench["cpu_seconds"] == seed["seconds"] and bench["cpu_entries"] == 20
    # Logged to the run's loggers too: TensorBoard has the benchmark's scalars.
    from docketbert.report.results import read_scalars

    scalars = read_scalars(runs / "benched" / "tb")
    assert scalars["bench/cpu/reference/seconds"][-1][1] == pytest.approx(seed["seconds"], rel=1e-4)


def test_report_table_golden(runs, tmp_path):
    written = write_report(runs, tmp_path / "report")
    rows = list(csv.DictReader(written["csv"].open()))
    names = [r["model"] for r in rows]
    assert names == [
        "gpu-run",
        *sorted(["benched", "plain"], key=lambda n: json.loads((runs / n / "metrics.json").read_text())["eval_loss"]),
        "crashed",
    ]
    by = {r["model"]: r for r in rows}
    gpu = by["gpu-run"]
    assert gpu == {
        "model": "gpu-run",
        "100k_gpu_seconds": "46.325",
        "200_cpu_seconds": "68.642",
        "num_params_million": "149.655",
        "eval_loss": "0.815",
        "train_tokens_per_s": "",
        "device": "NVIDIA H200",
        "status": "ok",
    }
    bench = json.loads((runs / "benched" / "bench.json").read_text())
    info = json.loads((runs / "benched" / "run_info.json").read_text())
    benched = by["benched"]
    assert benched["100k_gpu_seconds"] == ""
    assert float(benched["200_cpu_seconds"]) == pytest.approx(bench["cpu_seconds"] * 10, rel=1e-3)  # 20 -> 200
    assert float(benched["eval_loss"]) == pytest.approx(
        json.loads((runs / "benched" / "metrics.json").read_text())["eval_loss"], abs=1e-4
    )
    assert float(benched["num_params_million"]) == pytest.approx(info["num_params"] / 1e6, abs=1e-3)
    assert float(benched["train_tokens_per_s"]) > 0 and benched["device"].startswith("cpu (")
    assert benched["status"] == "gpu bench skipped: no GPU on this machine"
    assert by["plain"]["status"] == "no bench.json" and by["plain"]["100k_gpu_seconds"] == ""
    assert by["crashed"]["eval_loss"] == "" and by["crashed"]["status"].startswith("incomplete (no metrics.json")

    md = written["markdown"].read_text().splitlines()
    assert md[0] == "| " + " | ".join(COLUMNS) + " |"
    assert md[2] == "| gpu-run | 46.325* | 68.642 | 149.655 | 0.815 | – | NVIDIA H200 | ok |"
    assert md[5].startswith("| crashed | – | – |")
    assert any("scaled linearly" in line for line in md)

    for name in ("eval_loss_vs_tokens.png", "speed_vs_quality.png"):
        data = (tmp_path / "report" / name).read_bytes()
        assert data[:8] == PNG and len(data) > 10_000, name


def test_loss_curves_come_from_tensorboard(runs):
    curves = {r.name: r.curve for r in collect(runs)}
    assert len(curves["benched"]) == 2 and len(curves["plain"]) == 2  # eval every half of the run
    metrics = json.loads((runs / "benched" / "metrics.json").read_text())
    tokens, loss = curves["benched"][-1]
    assert tokens == pytest.approx(metrics["tokens"], rel=1e-6) and loss == pytest.approx(metrics["eval_loss"])
    assert curves["benched"][0][0] < tokens
    assert curves["gpu-run"] == []


@pytest.mark.integration
def test_cli_renders_a_template(runs, tmp_path):
    template = tmp_path / "README_TEMPLATE.md"
    template.write_text("# Results\n\n{results_table}\n\n{plots}\n")
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "docketbert.report", str(runs), "--out", str(out), "--template", str(template)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    readme = (out / "README.md").read_text()
    assert readme.startswith("# Results\n\n| model | 100k_gpu_seconds |") and "{results_table}" not in readme
    assert "| gpu-run | 46.325* |" in readme and "![loss](eval_loss_vs_tokens.png)" in readme
    assert (out / "results.csv").exists() and (out / "speed_vs_quality.png").exists()
    bad = subprocess.run(
        [sys.executable, "-m", "docketbert.report", str(tmp_path / "missing")], cwd=REPO, capture_output=True, text=True
    )
    assert bad.returncode == 2 and "is not a directory" in bad.stderr


def test_report_on_an_empty_folder(tmp_path):
    written = write_report(tmp_path, tmp_path / "report")
    assert written["csv"].read_text().strip() == ",".join(COLUMNS)
    assert (tmp_path / "report" / "speed_vs_quality.png").read_bytes()[:8] == PNG


def test_downstream_table_in_the_report(tmp_path):
    """Fine-tune outputs (metrics.json + docketbert_finetune.json) become the downstream table of the report."""
    import json

    from docketbert.report.results import write_report

    ft = tmp_path / "ft"
    for name, kind, f1 in [("domain", "domain-pretrained", 0.81), ("random", "random-init", 0.52)]:
        (ft / name).mkdir(parents=True)
        (ft / name / "metrics.json").write_text(
            json.dumps(
                {
                    "task": "entry_type",
                    "macro_f1": f1,
                    "accuracy": f1 + 0.1,
                    "n": 292,
                    "baselines": {"tfidf_logreg": {"macro_f1": 0.69, "accuracy": 0.8}},
                }
            )
        )
        (ft / name / "docketbert_finetune.json").write_text(json.dumps({"config": {"init": name}, "init_kind": kind}))
    (tmp_path / "runs").mkdir()
    template = tmp_path / "template.md"
    template.write_text("# R\n{results_table}\n## Downstream\n{downstream_table}\n")
    written = write_report(tmp_path / "runs", tmp_path / "out", template, ft)
    table = written["downstream"].read_text()
    assert "| entry_type | domain | domain-pretrained | macro_f1 0.810 |" in table
    assert "| entry_type | random | random-init | macro_f1 0.520 |" in table
    assert "tfidf_logreg 0.690" in table
    assert "domain-pretrained" in written["readme"].read_text()
    assert "Over seeds" not in table  # one seed per setting: no summary


def test_downstream_seed_summary(tmp_path):
    """Runs that differ only in their seed are summarised as mean ± sd beside the baseline on the same splits."""
    import json

    from docketbert.report.downstream_table import downstream_table

    dirs = []
    for seed, f1, base in [(1, 0.70, 0.66), (2, 0.74, 0.70), (3, 0.78, 0.71)]:
        d = tmp_path / f"s{seed}"
        d.mkdir()
        d.joinpath("metrics.json").write_text(
            json.dumps(
                {
                    "task": "entry_type",
                    "macro_f1": f1,
                    "accuracy": 0.8,
                    "n": 290,
                    "baselines": {"tfidf_logreg": {"macro_f1": base}, "majority": {"macro_f1": 0.02}},
                }
            )
        )
        d.joinpath("docketbert_finetune.json").write_text(
            json.dumps(
                {
                    "config": {"init": "m", "epochs": 10, "lr": 5e-4, "seed": seed, "balanced": False},
                    "init_kind": "dapt",
                }
            )
        )
        dirs.append(d)
    table = downstream_table(dirs)
    assert (
        "| entry_type | m | dapt | epochs 10, lr 0.0005 | 3 | macro_f1 0.740 ± 0.040 | tfidf_logreg 0.690 ± 0.026 "
        "| 3 of 3 |"
    ) in table
