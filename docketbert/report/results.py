"""The results table and plots of every run: `python -m docketbert.report runs/ [--out DIR] [--template T.md]`.

A run directory is any folder under RUNS with config.yaml, run_info.json or metrics.json. The table has the reference's
columns (model | 100k_gpu_seconds | 200_cpu_seconds | num_params_million | eval_loss), sorted by eval loss, plus
training tokens/s, the device and a status; it is written as results.md and results.csv with two plots,
eval_loss_vs_tokens.png and speed_vs_quality.png. Benchmarks on other entry counts are scaled linearly to 100k
(GPU) or 200 (CPU) entries and marked `*`. A missing piece (no bench.json, a crashed run without metrics.json)
leaves a blank (`–`) and shows in the status column. `--template` renders `{results_table}` (and `{plots}`).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docketbert.core.paths import input_file_fault, output_dir_fault
from docketbert.downstream.finetune_record import RECORD
from docketbert.report.downstream_table import downstream_table

COLUMNS = [
    "model",
    "100k_gpu_seconds",
    "200_cpu_seconds",
    "num_params_million",
    "eval_loss",
    "train_tokens_per_s",
    "device",
    "status",
]
EVAL_LOSS_TAG = "metrics/eval/LanguageCrossEntropy"
TOKEN_TAG = "time/token"
THROUGHPUT_TAG = "throughput/tokens_per_sec"
TRAIN_TIME_TAG = "time/train"  # hours
RUN_FILES = ("config.yaml", "run_info.json", "metrics.json")


@dataclass
class Run:
    name: str
    path: Path
    row: dict[str, Any] = field(default_factory=dict)
    scaled: set[str] = field(default_factory=set)
    curve: list[tuple[float, float]] = field(default_factory=list)  # (tokens seen, eval loss)


def read_json(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """(content, None), (None, None) when absent, or (None, a problem) when unreadable."""
    if not path.exists():
        return None, None
    try:
        return json.loads(path.read_text()), None
    except (OSError, json.JSONDecodeError) as err:
        return None, f"unreadable {path.name} ({err.__class__.__name__})"


def read_scalars(tb_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar of every TensorBoard event file under `tb_dir`: tag -> [(step, value)] sorted by step."""
    if not tb_dir.is_dir():
        return {}
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    scalars: dict[str, dict[int, float]] = {}
    for events in sorted(tb_dir.rglob("events.out.tfevents*")):
        try:
            acc = EventAccumulator(str(events), size_guidance={"scalars": 0})
            acc.Reload()
        except Exception:  # a truncated file of a killed run: skip it, keep the others
            continue
        for tag in acc.Tags().get("scalars", []):
            for event in acc.Scalars(tag):
                scalars.setdefault(tag, {})[event.step] = event.value
    return {tag: sorted(values.items()) for tag, values in scalars.items()}


def loss_curve(scalars: dict[str, list[tuple[int, float]]]) -> list[tuple[float, float]]:
    """Eval loss against tokens seen (the `time/token` logged at the same batch, interpolated between batches)."""
    losses = scalars.get(EVAL_LOSS_TAG, [])
    tokens = scalars.get(TOKEN_TAG, [])
    if not losses or not tokens:
        return []
    steps, counts = [s for s, _ in tokens], [v for _, v in tokens]
    curve = []
    for step, loss in losses:
        if step <= steps[0]:
            seen = counts[0] * step / steps[0] if steps[0] else counts[0]
        elif step >= steps[-1]:
            seen = counts[-1] * step / steps[-1]
        else:
            i = next(k for k, s in enumerate(steps) if s >= step)
            frac = (step - steps[i - 1]) / (steps[i] - steps[i - 1])
            seen = counts[i - 1] + frac * (counts[i] - counts[i - 1])
        curve.append((float(seen), float(loss)))
    return curve


def bench_seconds(bench: dict[str, Any], part: str, protocol_entries: int) -> tuple[float | None, bool]:
    """The reference protocol's best seconds, scaled to the protocol's entry count; (seconds, scaled?)."""
    seconds, entries = bench.get(f"{part}_seconds"), bench.get(f"{part}_entries")
    if seconds is None:
        return None, False
    if entries and entries != protocol_entries:
        return float(seconds) * protocol_entries / entries, True
    return float(seconds), False


def collect_run(path: Path) -> Run:
    run = Run(path.name, path)
    problems, status = [], []
    info, p1 = read_json(path / "run_info.json")
    metrics, p2 = read_json(path / "metrics.json")
    bench, p3 = read_json(path / "bench.json")
    problems += [p for p in (p1, p2, p3) if p]
    scalars = read_scalars(path / "tb")
    run.curve = loss_curve(scalars)
    row: dict[str, Any] = {c: None for c in COLUMNS}
    row["model"] = (info or {}).get("run_name") or path.name
    if info and info.get("num_params"):
        row["num_params_million"] = round(info["num_params"] / 1e6, 3)
    if info:
        row["device"] = info.get("gpu") or f"{info.get('device', '?')} ({info.get('cpu_count', '?')} cores)"
    if metrics and metrics.get("eval_loss") is not None:
        row["eval_loss"] = round(float(metrics["eval_loss"]), 4)
    elif metrics is None:
        status.append("incomplete (no metrics.json: crashed or running)")
    if bench:
        for part, column, n in (("gpu", "100k_gpu_seconds", 100_000), ("cpu", "200_cpu_seconds", 200)):
            seconds, scaled = bench_seconds(bench, part, n)
            row[column] = None if seconds is None else round(seconds, 3)
            if scaled:
                run.scaled.add(column)
        if bench.get("gpu", {}).get("skipped"):
            status.append(f"gpu bench skipped: {bench['gpu']['skipped']}")
    elif not p3:
        status.append("no bench.json")
    throughput = scalars.get(THROUGHPUT_TAG)
    if throughput:
        row["train_tokens_per_s"] = round(throughput[-1][1], 1)
    elif scalars.get(TRAIN_TIME_TAG) and ((metrics or {}).get("tokens") or scalars.get(TOKEN_TAG)):
        # Tokens over SpeedMonitor's training wall time (its default unit: hours), for runs shorter than its window.
        tokens = (metrics or {}).get("tokens") or scalars[TOKEN_TAG][-1][1]
        hours = scalars[TRAIN_TIME_TAG][-1][1]
        row["train_tokens_per_s"] = round(tokens / max(hours * 3600, 1e-9), 1)
    row["status"] = "; ".join(problems + status) or "ok"
    run.row = row
    return run


def collect(runs_dir: Path) -> list[Run]:
    """Every run directory under `runs_dir` (at any depth), sorted by eval loss (runs without one last)."""
    dirs = sorted({p.parent for name in RUN_FILES for p in runs_dir.rglob(name)})
    runs = [collect_run(d) for d in dirs]
    return sorted(runs, key=lambda r: (r.row["eval_loss"] is None, r.row["eval_loss"] or 0.0, r.name))


def cell(run: Run, column: str) -> str:
    value = run.row[column]
    if value is None:
        return "–"
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return text + ("*" if column in run.scaled else "")


def markdown_table(runs: list[Run]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|---|" + "---:|" * 5 + "---|---|"]
    lines += ["| " + " | ".join(cell(r, c).replace("|", "/") for c in COLUMNS) + " |" for r in runs]
    if any(r.scaled for r in runs):
        lines.append("\n`*` measured on fewer entries and scaled linearly to 100k (GPU) or 200 (CPU) entries.")
    return "\n".join(lines)


def csv_table(runs: list[Run]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for r in runs:
        writer.writerow(["" if r.row[c] is None else r.row[c] for c in COLUMNS])
    return out.getvalue()


def plot_losses(runs: list[Run], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for run in runs:
        if run.curve:
            xs, ys = zip(*run.curve)
            ax.plot(xs, ys, marker="o", markersize=3, label=run.name)
    ax.set_xlabel("tokens seen")
    ax.set_ylabel("eval loss (masked-token cross-entropy)")
    ax.set_title("Eval loss against tokens seen")
    if any(r.curve for r in runs):
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "no eval losses logged", ha="center", transform=ax.transAxes)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_speed(runs: list[Run], path: Path) -> None:
    """Seconds per 100k entries on the GPU (CPU seconds per 200 entries when no run has GPU numbers) against eval
    loss, point area by parameters."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    column = "100k_gpu_seconds" if any(r.row["100k_gpu_seconds"] for r in runs) else "200_cpu_seconds"
    points = [r for r in runs if r.row[column] is not None and r.row["eval_loss"] is not None]
    fig, ax = plt.subplots(figsize=(8, 5))
    for run in points:
        size = 20 + 6 * math.sqrt(run.row["num_params_million"] or 1) * 10
        ax.scatter(run.row[column], run.row["eval_loss"], s=size, alpha=0.6)
        ax.annotate(
            run.name, (run.row[column], run.row["eval_loss"]), fontsize=8, xytext=(4, 4), textcoords="offset points"
        )
    ax.set_xlabel("seconds per 100k entries (GPU)" if column.startswith("100k") else "seconds per 200 entries (CPU)")
    ax.set_ylabel("eval loss")
    ax.set_title("Speed against quality (point area ~ parameters)")
    if not points:
        ax.text(0.5, 0.5, "no run has both a benchmark and an eval loss", ha="center", transform=ax.transAxes)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


PLOTS = {"loss": "eval_loss_vs_tokens.png", "speed": "speed_vs_quality.png"}


def write_report(
    runs_dir: Path, out: Path, template: Path | None = None, finetune_dir: Path | None = None
) -> dict[str, Path]:
    runs = collect(runs_dir)
    out.mkdir(parents=True, exist_ok=True)
    table = markdown_table(runs)
    written = {"markdown": out / "results.md", "csv": out / "results.csv"}
    written["markdown"].write_text(table + "\n")
    written["csv"].write_text(csv_table(runs))
    plot_losses(runs, out / PLOTS["loss"])
    plot_speed(runs, out / PLOTS["speed"])
    written.update({k: out / v for k, v in PLOTS.items()})
    downstream = ""
    if finetune_dir is not None:  # docketbert.finetune outputs: which init gives what downstream score
        # a fine-tune killed before its scores has no metrics.json: it has no row
        done = sorted(p.parent for p in finetune_dir.glob(f"*/{RECORD}") if (p.parent / "metrics.json").is_file())
        downstream = downstream_table(done)
        written["downstream"] = out / "downstream.md"
        written["downstream"].write_text(downstream)
    if template is not None:
        plots = "\n\n".join(f"![{k}]({v})" for k, v in PLOTS.items())
        text = (
            template.read_text()
            .replace("{results_table}", table)
            .replace("{plots}", plots)
            .replace("{downstream_table}", downstream)
        )
        written["readme"] = out / "README.md"
        written["readme"].write_text(text)
    return written


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m docketbert.report", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("runs", type=Path, help="the folder of run directories (run_root)")
    p.add_argument("--out", type=Path, help="where to write the table and plots (default: RUNS/report)")
    p.add_argument(
        "--template",
        type=Path,
        help="a Markdown template with {results_table} (and {plots}); rendered to OUT/README.md",
    )
    p.add_argument(
        "--finetune",
        type=Path,
        help="a folder of docketbert.finetune outputs: adds the downstream "
        "table (OUT/downstream.md, {downstream_table} in the template)",
    )
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    out = args.out or args.runs / "report"
    problem = None
    if not args.runs.is_dir():
        problem = f"{args.runs} is not a directory" + ("" if args.runs.exists() else " (it does not exist)")
    elif args.template is not None and input_file_fault(args.template):
        problem = f"template {args.template} {input_file_fault(args.template)}"
    elif args.finetune is not None and not args.finetune.is_dir():
        problem = f"--finetune {args.finetune} is not a directory"
    elif output_dir_fault(out):
        problem = f"--out {out}: {output_dir_fault(out)}"
    if problem is None:
        try:
            written = write_report(args.runs, out, args.template, args.finetune)
        except (OSError, UnicodeDecodeError, ValueError, KeyError) as err:
            # an unreadable template, an unwritable --out, a fine-tune folder without metrics.json
            problem = f"{type(err).__name__}: {err}" if isinstance(err, KeyError) else str(err)
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    print(written["markdown"].read_text())
    for kind, path in written.items():
        print(f"{kind}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
