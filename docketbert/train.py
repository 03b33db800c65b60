"""Train a docketbert model: `composer docketbert/train.py yamls/<run>.yaml [key=value ...]`.

One process per device under Composer's launcher (`composer -n 8 ...`), or plain `python docketbert/train.py ...`.
The run directory `<run_root>/<run_name>/` receives config.yaml, run_info.json, checkpoints/ (autoresume: the same
command continues a killed run), tb/ (TensorBoard), wandb/ (when enabled), hf/ (the HF export) and metrics.json.
"""

from __future__ import annotations

import logging
import sys

from docketbert.config import ConfigError, load_config

log = logging.getLogger("docketbert.train")


def parse_args(argv: list[str]) -> tuple[list[str], list[str]]:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        print(
            "usage: composer docketbert/train.py RUN.yaml [MORE.yaml ...] [key=value ...]\n"
            "       e.g. composer docketbert/train.py yamls/tiny.yaml max_duration=20ba optimizer.lr=1e-3"
        )
        raise SystemExit(0 if argv else 2)
    yamls = [a for a in argv if "=" not in a]
    overrides = [a for a in argv if "=" in a]
    return yamls, overrides


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    yamls, overrides = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        # The keys and values first (no torch), then what can be checked without Composer (the model config, the
        # tokenizer, the data, the folders): a bad run is refused before the training imports.
        cfg = load_config(yamls, overrides)
        from docketbert.core.workers import resolve_num_workers, start_fork_server

        if resolve_num_workers(cfg.data.num_workers) > 0:
            # The loader workers' fork server does its imports while this process checks and builds the run.
            from docketbert.data.mlm import LOADER_PRELOAD

            start_fork_server(LOADER_PRELOAD)
        from docketbert.training.run_checks import check_run

        checked = check_run(cfg)
    except ConfigError as err:
        print(f"config error: {err}", file=sys.stderr)
        return 2
    from composer.utils import dist

    from docketbert.training.checkpoints import UnsafeCheckpointError
    from docketbert.training.remote_run import finish_remote
    from docketbert.training.trainer import already_trained, build_trainer, finish_export

    try:
        trainer = build_trainer(cfg, checked)
    except ConfigError as err:
        print(f"config error: {err}", file=sys.stderr)
        return 2
    except UnsafeCheckpointError as err:
        print(f"checkpoint error: {err}", file=sys.stderr)
        return 2
    if already_trained(trainer):
        log.info("run %s already reached max_duration %s: not training again", cfg.run_name, cfg.max_duration)
        finish_export(trainer, cfg)
    else:
        trainer.fit()
    trainer.close()
    if cfg.remote_folder and dist.get_global_rank() == 0:
        finish_remote(cfg.remote_folder, cfg.run_name, cfg.run_dir)
    if dist.get_global_rank() == 0:
        run_dir = cfg.run_dir
        print(
            f"\nrun finished: {run_dir}\n  HF export:   {run_dir / 'hf'}\n  metrics:     {run_dir / 'metrics.json'}\n"
            f"  TensorBoard: tensorboard --logdir {cfg.run_root}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
