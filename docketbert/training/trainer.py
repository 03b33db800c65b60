"""Everything a pretraining run is built from: a validated TrainConfig in, a ready Composer Trainer out.

The run directory `<run_root>/<run_name>/` receives config.yaml, run_info.json, checkpoints/ (autoresume: the same
command continues a killed run), tb/ (TensorBoard), wandb/ (when enabled), hf/ (the HF export) and metrics.json.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import replace

import torch
import transformers
from composer import Evaluator, Trainer
from composer.callbacks import LRMonitor, MemoryMonitor, RuntimeEstimator, SpeedMonitor
from composer.core import DataSpec
from composer.optim import LinearWithWarmupScheduler
from composer.utils import dist, get_device, reproducibility
from omegaconf import OmegaConf
from streaming.base.util import clean_stale_shared_memory

from docketbert.callbacks.hf_export import HFExport
from docketbert.callbacks.packing_monitor import PackingMonitor
from docketbert.config import ConfigError, TrainConfig, to_yaml
from docketbert.core.device import composer_device, resolve_device, resolve_precision
from docketbert.core.tokenizer import load_tokenizer
from docketbert.data.mds import open_split
from docketbert.data.mlm import MLMCollator, build_dataloader, count_real_tokens
from docketbert.data.packing import build_packed_loader, packed_batch_rows, split_packed_batch
from docketbert.model.build import build_mlm_model, count_parameters, resolve_attn_implementation, resolve_model_source
from docketbert.model.masked_lm import MaskedLMModel
from docketbert.model.modernbert import encoder_of
from docketbert.registry import ALGORITHMS, CALLBACKS, build_all, load_plugins
from docketbert.training.loggers import build_loggers
from docketbert.training.optim import adamw
from docketbert.training.run_options import packed_attn_implementation, resolve_compile, resolve_packing

log = logging.getLogger("docketbert.training")


def set_cpu_threads(device: str) -> None:
    """Without OMP_NUM_THREADS, share the cores among the local ranks (oversubscribed threads are many times slower)."""
    if device == "cpu" and "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // dist.get_local_world_size()))


def build_trainer(cfg: TrainConfig) -> Trainer:
    try:
        torch_device = resolve_device(cfg.device)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    device = composer_device(torch_device)
    precision = resolve_precision(cfg.precision, torch_device)
    dist.initialize_dist(get_device(device))
    set_cpu_threads(device)
    clean_stale_shared_memory()
    reproducibility.seed_all(cfg.seed)
    run_dir = cfg.run_dir
    world = dist.get_world_size()
    if cfg.global_train_batch_size % world:
        raise ConfigError(
            f"global_train_batch_size {cfg.global_train_batch_size} is not divisible by the {world} processes"
        )
    device_batch = cfg.global_train_batch_size // world
    microbatch = cfg.device_train_microbatch_size
    if isinstance(microbatch, int) and microbatch > device_batch:
        microbatch = device_batch  # more processes than the YAML assumed: no accumulation needed

    tokenizer = load_tokenizer(cfg.tokenizer)
    attn = resolve_attn_implementation(cfg.model.attn_implementation, on_gpu=device == "gpu")
    try:
        packing = resolve_packing(cfg.data.packing, device)
        attn = packed_attn_implementation(cfg.model.attn_implementation, attn, device) if packing else attn
    except ValueError as err:
        raise ConfigError(str(err)) from None
    init = resolve_model_source(cfg.model.init, cfg.run_root) if cfg.model.init else None
    hf_model = build_mlm_model(init, cfg.model.config, tokenizer, attn)
    try:
        compile_encoder = resolve_compile(cfg.model.compile, packed_flex_gpu=packing and attn == "flex_attention")
    except ValueError as err:
        raise ConfigError(str(err)) from None
    if compile_encoder:
        encoder_of(hf_model).compile()  # in place: state_dict keys (checkpoints, HF export) stay the same
    model = MaskedLMModel(hf_model, tokenizer)

    collator = MLMCollator.for_tokenizer(
        tokenizer,
        mlm_probability=cfg.data.mlm_probability,
        max_seq_len=cfg.data.max_seq_len,
        pad_to_multiple_of=cfg.data.pad_to_multiple_of,
    )
    train_set = open_split(
        cfg.data.path, cfg.data.train_split, cfg.data.local, device_batch, cfg.data.shuffle, cfg.seed
    )
    pin = device == "gpu"
    if packing:  # a sample is a row of max_seq_len tokens holding whole entries
        train_loader = build_packed_loader(
            train_set,
            collator,
            cfg.data.max_seq_len,
            device_batch,
            cfg.data.packing_buffer,
            cfg.seed,
            cfg.data.num_workers,
            pin_memory=pin,
        )
    else:
        train_loader = build_dataloader(train_set, collator, device_batch, cfg.data.num_workers, pin_memory=pin)
    packed_spec = {"split_batch": split_packed_batch, "get_num_samples_in_batch": packed_batch_rows} if packing else {}
    train_data = DataSpec(train_loader, get_num_tokens_in_batch=count_real_tokens, **packed_spec)
    evaluators = []
    if cfg.data.eval_split:
        eval_set = open_split(cfg.data.path, cfg.data.eval_split, cfg.data.local, cfg.device_eval_batch_size)
        eval_collator = replace(collator, deterministic=True)
        eval_loader = build_dataloader(
            eval_set, eval_collator, cfg.device_eval_batch_size, cfg.data.num_workers, pin_memory=pin
        )
        evaluators.append(
            Evaluator(
                label="eval",
                dataloader=DataSpec(eval_loader, get_num_tokens_in_batch=count_real_tokens),
                metric_names=["LanguageCrossEntropy", "MaskedAccuracy"],
                subset_num_batches=cfg.data.eval_subset_num_batches or -1,
            )
        )

    load_plugins()
    context = {"run_dir": run_dir, "tokenizer": tokenizer, "cfg": cfg}
    callbacks = [SpeedMonitor(window_size=50), LRMonitor(), RuntimeEstimator(), HFExport(run_dir, export=cfg.export_hf)]
    if device == "gpu":
        callbacks.append(MemoryMonitor())
    if packing:
        callbacks.append(PackingMonitor())
    callbacks += build_all("callbacks", CALLBACKS, cfg.callbacks, **context)
    algorithms = build_all("algorithms", ALGORITHMS, cfg.algorithms, **context)
    optimizer = adamw(
        model, cfg.optimizer.lr, cfg.optimizer.weight_decay, device, cfg.optimizer.betas, cfg.optimizer.eps
    )
    scheduler = LinearWithWarmupScheduler(t_warmup=cfg.scheduler.warmup, alpha_f=cfg.scheduler.alpha_f)

    run_info = {
        "run_name": cfg.run_name,
        "attn_implementation": attn,
        "device": device,
        "precision": precision,
        "world_size": world,
        "num_params": count_parameters(hf_model),
        "packing": packing,
        "compile": compile_encoder,
        "tokenizer": cfg.tokenizer,
        "vocab_size": hf_model.config.vocab_size,
        "gpu": torch.cuda.get_device_name() if device == "gpu" else None,
        "cpu_count": os.cpu_count(),
        "torch": str(torch.__version__),
        "transformers": transformers.__version__,
    }
    if dist.get_global_rank() == 0:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.yaml").write_text(to_yaml(cfg))
        (run_dir / "run_info.json").write_text(json.dumps(run_info, indent=2))
    log.info("run %s: %s", cfg.run_name, run_info)

    trainer = Trainer(
        run_name=cfg.run_name,
        model=model,
        train_dataloader=train_data,
        eval_dataloader=evaluators or None,
        max_duration=cfg.max_duration,
        eval_interval=cfg.eval_interval,
        optimizers=optimizer,
        schedulers=scheduler,
        step_schedulers_every_batch=True,
        device=device,
        precision=precision,
        device_train_microbatch_size=microbatch,
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
    trainer.logger.log_hyperparameters({**run_info, "config": OmegaConf.to_container(OmegaConf.structured(cfg))})
    return trainer


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
