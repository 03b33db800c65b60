"""Everything a pretraining run is built from: a validated TrainConfig in, a ready Composer Trainer out.

The run directory `<run_root>/<run_name>/` receives config.yaml, run_info.json, checkpoints/ (autoresume: the same
command continues a killed run), tb/ (TensorBoard), wandb/ (when enabled), hf/ (the HF export) and metrics.json.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, replace
from typing import Any

import torch
import transformers
from composer import Evaluator, Trainer
from composer.callbacks import LRMonitor, MemoryMonitor, RuntimeEstimator, SpeedMonitor
from composer.core import Callback, DataSpec, State
from composer.optim import LinearWithWarmupScheduler
from composer.utils import dist, get_device, reproducibility
from omegaconf import OmegaConf

from docketbert.callbacks.hf_export import HFExport
from docketbert.callbacks.packing_monitor import PackingMonitor
from docketbert.config import ConfigError, TrainConfig, to_yaml
from docketbert.core.device import composer_device, resolve_precision
from docketbert.core.workers import resolve_num_workers
from docketbert.data.mds import open_split
from docketbert.data.mlm import MLMCollator, build_dataloader, count_real_tokens
from docketbert.data.packing import build_packed_loader, packed_batch_rows, split_packed_batch
from docketbert.model.build import (
    build_mlm_model,
    count_parameters,
    resolve_attn_implementation,
)
from docketbert.model.masked_lm import MaskedLMModel
from docketbert.model.modernbert import encoder_of
from docketbert.registry import ALGORITHMS, CALLBACKS, build_all, load_plugins
from docketbert.training.auto_settings import (
    compiles_by_default,
    packed_attn_implementation,
    resolve_compile,
    resolve_packing,
)
from docketbert.training.checkpoints import CheckpointPruner, prepare_autoresume, safe_checkpoint_loading
from docketbert.training.loggers import build_loggers
from docketbert.training.optim import adamw
from docketbert.training.remote_run import RemoteCheckpoints, pull_checkpoints, run_store
from docketbert.training.run_checks import CheckedRun, check_run

log = logging.getLogger("docketbert.training")


def set_cpu_threads(device: str) -> None:
    """Without OMP_NUM_THREADS, share the cores among the local ranks (oversubscribed threads are many times slower)."""
    if device == "cpu" and "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // dist.get_local_world_size()))


@dataclass
class _Placement:
    """Where a run's process trains: its devices, precision and per-device batch."""

    torch_device: torch.device
    device: str  # composer's name: cpu or gpu
    precision: str
    world: int
    device_batch: int
    microbatch: int | str | None


@dataclass
class _Model:
    """The model a run trains, and the settings resolved for it."""

    hf_model: Any
    model: MaskedLMModel
    attn: str
    packing: bool
    compile_encoder: bool


def build_trainer(cfg: TrainConfig, checked: CheckedRun | None = None) -> Trainer:
    """Check the run (unless `checked` is `check_run`'s result for it), join the process group, build the model, the
    data, the callbacks and the optimizer, record the run, then hand everything to Composer's Trainer (resuming from
    the newest whole checkpoint)."""
    checked = checked or check_run(cfg)
    place = _place(cfg, checked)
    built = _build_model(cfg, checked, place)
    train_data, evaluators, workers = _build_data(cfg, checked.tokenizer, place, built.packing)
    callbacks, algorithms = _build_callbacks(cfg, checked.tokenizer, place.device, built.packing)
    optimizer = adamw(
        built.model, cfg.optimizer.lr, cfg.optimizer.weight_decay, place.device, cfg.optimizer.betas, cfg.optimizer.eps
    )
    scheduler = LinearWithWarmupScheduler(t_warmup=cfg.scheduler.warmup, alpha_f=cfg.scheduler.alpha_f)
    run_info = _record_run(cfg, place, built, workers)

    if cfg.autoresume:
        # With a remote copy each node prepares its own local folder (a new node downloads the checkpoints first);
        # without one, the run's single folder is prepared once.
        if (dist.get_local_rank() if cfg.remote_folder else dist.get_global_rank()) == 0:
            if cfg.remote_folder:
                pull_checkpoints(run_store(cfg.remote_folder, cfg.run_name), cfg.run_dir / "checkpoints")
            prepare_autoresume(cfg.run_dir / "checkpoints", cfg.save_num_checkpoints_to_keep)
        dist.barrier()
    with safe_checkpoint_loading():
        trainer = _composer_trainer(
            cfg,
            model=built.model,
            train_data=train_data,
            evaluators=evaluators,
            optimizer=optimizer,
            scheduler=scheduler,
            place=place,
            callbacks=callbacks,
            algorithms=algorithms,
        )
    if cfg.autoresume:
        restore_rng_mid_epoch(trainer)
    trainer.logger.log_hyperparameters({**run_info, "config": OmegaConf.to_container(OmegaConf.structured(cfg))})
    return trainer


def _place(cfg: TrainConfig, checked: CheckedRun) -> _Placement:
    """Join the process group (one process per device), set the CPU threads and the seed, and split the global
    batch over the processes."""
    torch_device = checked.torch_device
    device = composer_device(torch_device)
    precision = resolve_precision(cfg.precision, torch_device)
    dist.initialize_dist(get_device(device))
    set_cpu_threads(device)
    reproducibility.seed_all(cfg.seed)
    world = dist.get_world_size()
    if cfg.global_train_batch_size % world:
        raise ConfigError(
            f"global_train_batch_size {cfg.global_train_batch_size} is not divisible by the {world} processes"
        )
    device_batch = cfg.global_train_batch_size // world
    microbatch = cfg.device_train_microbatch_size
    if isinstance(microbatch, int) and microbatch > device_batch:
        microbatch = device_batch  # more processes than the YAML assumed: no accumulation needed
    return _Placement(torch_device, device, precision, world, device_batch, microbatch)


def _build_model(cfg: TrainConfig, checked: CheckedRun, place: _Placement) -> _Model:
    """The MLM model from `model.init` or a fresh config, with the attention, packing and compiling resolved for
    the device; every fault is a one-line ConfigError."""
    device, tokenizer = place.device, checked.tokenizer
    attn = resolve_attn_implementation(cfg.model.attn_implementation, on_gpu=device == "gpu")
    try:
        packing = resolve_packing(cfg.data.packing, device)
        attn = packed_attn_implementation(cfg.model.attn_implementation, attn, device) if packing else attn
    except ValueError as err:
        raise ConfigError(str(err)) from None
    try:
        hf_model = build_mlm_model(checked.init, cfg.model.config, tokenizer, attn)
    except OSError as err:  # a hub id that cannot be fetched (offline, or no such model)
        raise ConfigError(f"model.init={cfg.model.init!r} could not be loaded: {str(err).splitlines()[0]}") from None
    except ValueError as err:
        raise ConfigError(str(err).splitlines()[0]) from None
    if cfg.data.max_seq_len > hf_model.config.max_position_embeddings:
        raise ConfigError(
            f"data.max_seq_len={cfg.data.max_seq_len} exceeds the model's max_position_embeddings "
            f"{hf_model.config.max_position_embeddings}"
        )
    try:
        compile_encoder = resolve_compile(cfg.model.compile, packed_flex_gpu=compiles_by_default(packing, attn, device))
    except ValueError as err:
        raise ConfigError(str(err)) from None
    if compile_encoder:
        encoder_of(hf_model).compile()  # in place: state_dict keys (checkpoints, HF export) stay the same
    return _Model(hf_model, MaskedLMModel(hf_model, tokenizer), attn, packing, compile_encoder)


def _build_data(cfg: TrainConfig, tokenizer, place: _Placement, packing: bool) -> tuple[DataSpec, list[Evaluator], int]:
    """The training DataSpec (packed rows or padded entries), the eval evaluator if the run has an eval split, and
    the resolved number of loader workers."""
    collator = MLMCollator.for_tokenizer(
        tokenizer,
        mlm_probability=cfg.data.mlm_probability,
        max_seq_len=cfg.data.max_seq_len,
        pad_to_multiple_of=cfg.data.pad_to_multiple_of,
        seed=cfg.seed,
    )
    train_set = open_split(
        cfg.data.path, cfg.data.train_split, cfg.data.local, place.device_batch, cfg.data.shuffle, cfg.seed
    )
    try:
        workers = resolve_num_workers(cfg.data.num_workers, dist.get_local_world_size())
    except ValueError as err:
        raise ConfigError(str(err)) from None
    pin = place.device == "gpu"
    loader_options = {"num_workers": workers, "pin_memory": pin, "prefetch_factor": cfg.data.prefetch_factor}
    if packing:  # a sample is a row of max_seq_len tokens holding whole entries
        train_loader = build_packed_loader(
            train_set,
            collator,
            cfg.data.max_seq_len,
            place.device_batch,
            cfg.data.packing_buffer,
            cfg.seed,
            **loader_options,
        )
    else:
        train_loader = build_dataloader(train_set, collator, place.device_batch, **loader_options)
    packed_spec = {"split_batch": split_packed_batch, "get_num_samples_in_batch": packed_batch_rows} if packing else {}
    train_data = DataSpec(train_loader, get_num_tokens_in_batch=count_real_tokens, **packed_spec)
    evaluators = []
    if cfg.data.eval_split:
        eval_set = open_split(cfg.data.path, cfg.data.eval_split, cfg.data.local, cfg.device_eval_batch_size)
        eval_collator = replace(collator, deterministic=True)
        eval_loader = build_dataloader(eval_set, eval_collator, cfg.device_eval_batch_size, **loader_options)
        evaluators.append(
            Evaluator(
                label="eval",
                dataloader=DataSpec(eval_loader, get_num_tokens_in_batch=count_real_tokens),
                metric_names=["LanguageCrossEntropy", "MaskedAccuracy"],
                subset_num_batches=cfg.data.eval_subset_num_batches or -1,
            )
        )
    return train_data, evaluators, workers


def _build_callbacks(cfg: TrainConfig, tokenizer, device: str, packing: bool) -> tuple[list, list]:
    """The callbacks every run has, those of its device and packing, and the YAML's callbacks and algorithms."""
    load_plugins()
    context = {"run_dir": cfg.run_dir, "tokenizer": tokenizer, "cfg": cfg}
    callbacks = [
        SpeedMonitor(window_size=50),
        LRMonitor(),
        RuntimeEstimator(),
        HFExport(cfg.run_dir, export=cfg.export_hf),
    ]
    if cfg.autoresume:
        callbacks.append(CheckpointPruner(cfg.run_dir / "checkpoints", cfg.save_num_checkpoints_to_keep))
    if cfg.remote_folder:
        callbacks.append(RemoteCheckpoints(cfg.remote_folder, cfg.run_name, cfg.run_dir / "checkpoints"))
    if device == "gpu":
        callbacks.append(MemoryMonitor())
    if packing:
        callbacks.append(PackingMonitor())
    callbacks += build_all("callbacks", CALLBACKS, cfg.callbacks, **context)
    return callbacks, build_all("algorithms", ALGORITHMS, cfg.algorithms, **context)


def _record_run(cfg: TrainConfig, place: _Placement, built: _Model, workers: int) -> dict[str, Any]:
    """run_info.json and config.yaml in the run directory (rank 0), and the log line: what the run resolved."""
    run_info = {
        "run_name": cfg.run_name,
        "attn_implementation": built.attn,
        "device": place.device,
        "precision": place.precision,
        "world_size": place.world,
        "num_params": count_parameters(built.hf_model),
        "packing": built.packing,
        "num_workers": workers,
        "compile": built.compile_encoder,
        "tokenizer": cfg.tokenizer,
        "vocab_size": built.hf_model.config.vocab_size,
        "gpu": torch.cuda.get_device_name() if place.device == "gpu" else None,
        "cpu_count": os.cpu_count(),
        "torch": str(torch.__version__),
        "transformers": transformers.__version__,
    }
    if dist.get_global_rank() == 0:
        cfg.run_dir.mkdir(parents=True, exist_ok=True)
        (cfg.run_dir / "config.yaml").write_text(to_yaml(cfg))
        (cfg.run_dir / "run_info.json").write_text(json.dumps(run_info, indent=2))
    log.info("run %s: %s", cfg.run_name, run_info)
    return run_info


def restore_rng_mid_epoch(trainer: Trainer) -> None:
    """Composer restores a checkpoint's RNG states only at batch 0 of an epoch when the dataset resumes itself
    (StreamingDataset: `Trainer._train_loop` skips `load_rng_state` mid-epoch), so dropout after a mid-epoch resume
    would draw other numbers than the uninterrupted run. Restore them just before the first batch's step instead,
    where the uninterrupted run drew its next numbers (after the dataloader produced the batch)."""
    rng_state = getattr(trainer, "_rng_state", None)
    state = trainer.state
    if rng_state is None or int(state.timestamp.batch_in_epoch) == 0 or "train" not in state.dataset_resumption:
        return
    trainer._rng_state = None  # Composer's own restore (at batch 0 of an epoch) must not run on top
    state.callbacks.insert(0, _RestoreRng(rng_state))


class _RestoreRng(Callback):
    """Loads saved RNG states at the first AFTER_DATALOADER event (see `restore_rng_mid_epoch`)."""

    def __init__(self, rng_state: Any):
        self.rng_state = rng_state

    def after_dataloader(self, state: State, logger: Any) -> None:
        if self.rng_state is not None:
            reproducibility.load_rng_state(self.rng_state)
            self.rng_state = None


def _composer_trainer(
    cfg: TrainConfig,
    *,
    model,
    train_data: DataSpec,
    evaluators: list[Evaluator],
    optimizer,
    scheduler,
    place: _Placement,
    callbacks: list,
    algorithms: list,
) -> Trainer:
    run_dir = cfg.run_dir
    return Trainer(
        run_name=cfg.run_name,
        model=model,
        train_dataloader=train_data,
        eval_dataloader=evaluators or None,
        max_duration=cfg.max_duration,
        eval_interval=cfg.eval_interval,
        optimizers=optimizer,
        schedulers=scheduler,
        step_schedulers_every_batch=True,
        device=place.device,
        precision=place.precision,
        device_train_microbatch_size=place.microbatch,
        seed=cfg.seed,
        save_folder=str(run_dir / "checkpoints"),
        save_interval=cfg.save_interval,
        save_num_checkpoints_to_keep=cfg.save_num_checkpoints_to_keep,
        autoresume=cfg.autoresume,
        # A run killed between writing a checkpoint and pointing latest-rank0.pt at it resumes from the previous
        # one and must be able to write that checkpoint again; with autoresume nothing newer can be overwritten.
        save_overwrite=cfg.autoresume,
        loggers=build_loggers(cfg, run_dir),
        callbacks=callbacks,
        algorithms=algorithms,
        progress_bar=cfg.loggers.progress_bar,
        log_to_console=not cfg.loggers.progress_bar,
        console_log_interval=cfg.loggers.console_log_interval,
    )


def already_trained(trainer: Trainer) -> bool:
    """True when autoresume restored a checkpoint that is already at max_duration."""
    max_duration = trainer.state.max_duration
    if max_duration is None or max_duration.unit.value == "dur":
        return False
    return trainer.state.timestamp.get(max_duration.unit) >= max_duration


def finish_export(trainer: Trainer, cfg: TrainConfig) -> None:
    """A run killed after its last checkpoint but before its export: evaluate and export now."""
    if (cfg.run_dir / "metrics.json").exists() and ((cfg.run_dir / "hf").exists() or not cfg.export_hf):
        return
    if trainer.state.evaluators:
        trainer.eval()
    for callback in trainer.state.callbacks:
        if isinstance(callback, HFExport):
            callback.fit_end(trainer.state, trainer.logger)
