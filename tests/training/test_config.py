"""The run schema: YAMLs and overrides merge onto typed defaults; a wrong key names itself."""

from pathlib import Path

import pytest

from docketbert.config import ConfigError, load_config

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_defaults_are_the_reference_recipe(tmp_path):
    cfg = load_config([write(tmp_path, "a.yaml", "run_name: r\ndata: {path: /data}\n")])
    assert cfg.optimizer.lr == 5e-4 and cfg.optimizer.weight_decay == 0.01
    assert cfg.scheduler.warmup == "0.05dur"
    assert cfg.data.mlm_probability == 0.3 and cfg.data.max_seq_len == 768
    assert cfg.global_train_batch_size == 256 and cfg.max_duration == "1ep"
    assert cfg.eval_interval == cfg.save_interval == "1000ba" and cfg.save_num_checkpoints_to_keep == 2
    assert cfg.run_dir == Path("runs/r")


def test_overrides_and_defaults_chain(tmp_path):
    write(tmp_path, "base.yaml", "data: {path: /data, max_seq_len: 128}\noptimizer: {lr: 1.0e-3}\n")
    run = write(tmp_path, "run.yaml", "defaults: [base.yaml]\nrun_name: r\noptimizer: {weight_decay: 0.1}\n")
    cfg = load_config([run], ["optimizer.lr=2e-4", "model.config.hidden_size=64", "algorithms.x.y=1"])
    assert cfg.optimizer.lr == 2e-4 and cfg.optimizer.weight_decay == 0.1 and cfg.data.max_seq_len == 128
    assert cfg.model.config == {"hidden_size": 64} and cfg.algorithms == {"x": {"y": 1}}


@pytest.mark.parametrize(
    "yaml_text, overrides, message",
    [
        ("run_name: r\ndata: {path: /d, max_seq_lne: 3}\n", [], "data.max_seq_lne"),
        ("run_name: r\nlearning_rate: 3\ndata: {path: /d}\n", [], "learning_rate"),
        ("run_name: r\ndata: {path: /d}\n", ["optimizer.lrr=1"], "optimizer.lrr"),
        ("run_name: r\ndata: {path: /d}\n", ["data.max_seq_len=abc"], "data.max_seq_len"),
        ("run_name: r\ndata: {path: /d}\n", ["global_train_batch_size"], "key=value"),
        ("data: {path: /d}\n", [], "run_name"),
    ],
)
def test_bad_keys_name_themselves(tmp_path, yaml_text, overrides, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        load_config([write(tmp_path, "a.yaml", yaml_text)], overrides)


def test_every_shipped_yaml_validates():
    yamls = sorted((REPO / "yamls").glob("*.yaml"))
    assert any(p.name == "tiny.yaml" for p in yamls) and any(p.name == "base150m.yaml" for p in yamls)
    for path in yamls:
        if path.name.startswith("_"):
            continue
        cfg = load_config([path])
        assert cfg.run_name and cfg.data.path


def test_base150m_is_the_reference_base_run():
    cfg = load_config([REPO / "yamls" / "base150m.yaml"])
    assert cfg.model.init == "answerdotai/ModernBERT-base" and cfg.tokenizer == "answerdotai/ModernBERT-base"
    assert (cfg.optimizer.lr, cfg.optimizer.weight_decay, cfg.scheduler.warmup) == (5e-4, 0.01, "0.05dur")
    assert (cfg.global_train_batch_size, cfg.device_train_microbatch_size) == (256, 16)
    assert (cfg.data.max_seq_len, cfg.max_duration, cfg.eval_interval, cfg.save_interval) == (
        768,
        "1ep",
        "1000ba",
        "1000ba",
    )
    assert cfg.run_name == "docketbert-base-150M"


def test_finetune_config_defaults_chain_and_flags_override(tmp_path):
    from docketbert.config import FinetuneConfig, load_finetune_config

    write(tmp_path, "base.yaml", "epochs: 7\nlr: 1.0e-3\nmax_length: 128\n")
    run = write(
        tmp_path, "ft.yaml", "defaults: [base.yaml]\ntask: citations\ntrain: t.jsonl\ninit: i\noutput: o\nlr: 2.0e-3\n"
    )
    cfg = load_finetune_config(run, {"epochs": 2, "seed": None})
    assert isinstance(cfg, FinetuneConfig)
    assert (cfg.task, cfg.epochs, cfg.lr, cfg.max_length, cfg.seed) == ("citations", 2, 2e-3, 128, 0)


@pytest.mark.parametrize(
    "yaml_text, overrides, message",
    [
        ("task: entry_type\ntrain: x\ninit: y\noutput: z\nepochz: 3\n", {}, "epochz"),
        ("task: entry_type\ntrain: x\ninit: y\noutput: z\n", {"epochs": "many"}, "epochs"),
        ("task: entry_type\ntrain: x\ninit: y\n", {}, "needs output"),
        ("task: entry_type\ntrain: x\ninit: y\noutput: z\npooling: max\n", {}, "pooling 'max'"),
        ("defaults: [missing.yaml]\ntask: entry_type\n", {}, "missing.yaml does not exist"),
    ],
)
def test_finetune_config_errors_name_the_key(tmp_path, yaml_text, overrides, message):
    from docketbert.config import load_finetune_config

    with pytest.raises(ConfigError, match=message):
        load_finetune_config(write(tmp_path, "ft.yaml", yaml_text), overrides)


def test_every_shipped_finetune_yaml_validates():
    from docketbert.downstream.finetuning import load_config as load_finetune
    from docketbert.downstream.tasks import TASKS

    yamls = sorted(p for p in (REPO / "yamls" / "finetune").glob("*.yaml") if not p.name.startswith("_"))
    assert {p.stem for p in yamls} == set(TASKS)
    for path in yamls:
        cfg = load_finetune(str(path), {"init": "x", "output": "y"})
        assert cfg.task == path.stem and cfg.train.startswith("../shared/data/") and cfg.epochs == 3
    with pytest.raises(ConfigError, match="'task': 'entry_kind' is not one of entry_type, multilabel, citations"):
        load_finetune(None, {"task": "entry_kind", "train": "a", "init": "b", "output": "c"})


def test_num_workers_auto_and_validated(monkeypatch):
    """`data.num_workers: auto` (the default): the CPUs this process may use per local rank, less one, at most 8;
    an int passes through; anything else is refused."""
    from docketbert.core import workers

    cfg = load_config([REPO / "yamls" / "tiny.yaml"])
    assert cfg.data.num_workers == "auto" and cfg.data.prefetch_factor >= 1
    monkeypatch.setattr(workers, "available_cpus", lambda: 16)
    assert workers.resolve_num_workers("auto", 1) == 8  # capped
    assert workers.resolve_num_workers("auto", 4) == 3
    assert workers.resolve_num_workers("auto", 16) == 0
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    assert workers.resolve_num_workers("auto") == 7
    assert workers.resolve_num_workers(3, 4) == 3 and workers.resolve_num_workers("2") == 2
    for bad in (-1, "many", True, 1.5):
        with pytest.raises(ValueError, match="non-negative integer or auto"):
            workers.resolve_num_workers(bad)
