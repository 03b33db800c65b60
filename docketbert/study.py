"""Run the reference's whole study: every yamls/*.yaml (but tiny.yaml and the `_` defaults files), in dependency order.

    python -m docketbert.study [--only NAME ...] [--dry-run] [key=value ...]

A run depends on another when its `model.init` or its distillation teacher is that run's name (it needs that run's
HF export). Runs whose `<run_root>/<run_name>/metrics.json` exists are skipped, so a re-run continues the study.
Each run is `composer docketbert/train.py yamls/X.yaml [key=value ...]`; the overrides apply to every run.
`--only` takes YAML stems or run names and adds the runs they depend on (skipped too when finished).
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from docketbert.config import ConfigError, load_config

REPO = Path(__file__).resolve().parents[1]
EXCLUDED = {"tiny.yaml"}


@dataclass
class PlannedRun:
    yaml: Path
    run_name: str
    run_dir: Path
    needs: list[str]  # run names whose exports this run reads

    @property
    def done(self) -> bool:
        return (self.run_dir / "metrics.json").exists()


def load_runs(yaml_dir: Path, overrides: list[str]) -> dict[str, PlannedRun]:
    runs: dict[str, PlannedRun] = {}
    for path in sorted(yaml_dir.glob("*.yaml")):
        if path.name.startswith("_") or path.name in EXCLUDED:
            continue
        cfg = load_config([path], overrides)
        sources = [cfg.model.init] + [
            str((opts or {}).get("teacher")) for name, opts in cfg.callbacks.items() if name == "distillation"
        ]
        runs[cfg.run_name] = PlannedRun(path, cfg.run_name, cfg.run_dir, [s for s in sources if s])
    for run in runs.values():  # only sources that are runs of the study are dependencies
        run.needs = [s for s in dict.fromkeys(run.needs) if s in runs and s != run.run_name]
    return runs


def select(runs: dict[str, PlannedRun], only: list[str] | None) -> list[str]:
    if not only:
        return list(runs)
    by_stem = {run.yaml.stem: name for name, run in runs.items()}
    chosen: list[str] = []
    for item in only:
        name = by_stem.get(Path(item).stem, item)
        if name not in runs:
            raise ConfigError(f"--only {item!r} is neither a YAML stem nor a run name of the study")
        chosen.append(name)
    return chosen


def order(runs: dict[str, PlannedRun], wanted: list[str]) -> list[str]:
    """Dependencies first (depth-first topological order); a cycle is an error."""
    result: list[str] = []
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            raise ConfigError(f"dependency cycle: {' -> '.join(path + [name])}")
        state[name] = "visiting"
        for dep in runs[name].needs:
            visit(dep, path + [name])
        state[name] = "done"
        result.append(name)

    for name in wanted:
        visit(name, [])
    return result


def command(run: PlannedRun, overrides: list[str], composer: str) -> list[str]:
    return [composer, str(REPO / "docketbert" / "train.py"), str(run.yaml), *overrides]


def fail(message: str) -> int:
    """A user error: one line on stderr, exit code 2."""
    print(f"error: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", metavar="NAME", help="YAML stems or run names (plus their dependencies)")
    parser.add_argument("--dry-run", action="store_true", help="print the order and the commands, run nothing")
    parser.add_argument("--yamls", type=Path, default=REPO / "yamls", help="folder of run YAMLs (default: yamls/)")
    parser.add_argument(
        "--composer",
        default=str(Path(sys.executable).parent / "composer"),
        help="the composer launcher (default: the one beside this Python)",
    )
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides for every run")
    args = parser.parse_args(argv)
    # `--only A B key=value` (the usage line's order): argparse gives --only every word after it, so its key=value
    # words go back to the overrides (a YAML stem or run name has no "="), after the ones given before --only.
    args.overrides = [*args.overrides, *(w for w in args.only or [] if "=" in w)]
    if args.only is not None:
        args.only = [w for w in args.only if "=" not in w]
        if not args.only:
            return fail("--only needs at least one YAML stem or run name")
    bad = [o for o in args.overrides if "=" not in o or o.startswith("=")]
    if bad:
        return fail(f"overrides must be key=value: {' '.join(bad)}")
    if not args.yamls.is_dir():
        return fail(f"--yamls {args.yamls} is not a directory")
    try:
        runs = load_runs(args.yamls, args.overrides)
        if not runs:
            raise ConfigError(f"no run YAMLs in {args.yamls} (the study reads *.yaml but _*.yaml and tiny.yaml)")
        plan = order(runs, select(runs, args.only))
    except ConfigError as err:
        print(f"config error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # an unreadable YAML
        return fail(str(err))
    todo = [name for name in plan if not runs[name].done]
    if todo and not args.dry_run and shutil.which(args.composer) is None:
        return fail(f"--composer {args.composer} is not an executable (the study runs each run through it)")
    for i, name in enumerate(plan, 1):
        run = runs[name]
        status = "done, skipped" if run.done else "to run"
        needs = f" (after {', '.join(run.needs)})" if run.needs else ""
        print(f"{i:2d}. {name} [{status}]{needs}\n    {shlex.join(command(run, args.overrides, args.composer))}")
    if args.dry_run:
        return 0
    for name in plan:
        run = runs[name]
        if run.done:
            continue
        print(f"\n=== {name} ===", flush=True)
        rc = subprocess.run(command(run, args.overrides, args.composer), cwd=REPO).returncode
        if rc != 0 or not run.done:
            print(f"run {name} failed (exit code {rc}); stopping the study", file=sys.stderr)
            return rc or 1
    print(f"\nstudy finished: {len(plan)} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
