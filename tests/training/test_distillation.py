"""Distillation: the loss against a hand computation, alpha_kl = 0 is plain MLM, the teacher stays frozen and out of
checkpoints, a vocabulary mismatch is an error, and distilled runs (scratch and sliced students) export."""

import json

import pytest
import torch
import torch.nn.functional as F
from tiny_models import YAMLS, load_export, save_tiny_model, tiny_overrides, tiny_shape_overrides
from transformers import ModernBertConfig, ModernBertForMaskedLM

from docketbert.callbacks.distillation import Distillation
from docketbert.config import ConfigError, load_config
from docketbert.core.batching import IGNORE_INDEX
from docketbert.model.masked_lm import MaskedLMModel
from docketbert.training.trainer import build_trainer


def tiny(layers: int, seed: int) -> ModernBertForMaskedLM:
    torch.manual_seed(seed)
    return ModernBertForMaskedLM(
        ModernBertConfig(
            vocab_size=64,
            hidden_size=16,
            num_hidden_layers=layers,
            num_attention_heads=2,
            intermediate_size=24,
            pad_token_id=0,
            bos_token_id=1,
            eos_token_id=2,
            cls_token_id=1,
            sep_token_id=2,
        )
    )


def tiny_batch() -> dict[str, torch.Tensor]:
    torch.manual_seed(3)
    ids = torch.randint(3, 64, (3, 9))
    mask = torch.ones_like(ids)
    mask[1, 6:] = 0
    mask[2, 4:] = 0
    ids[mask == 0] = 0
    labels = torch.full_like(ids, IGNORE_INDEX)
    for b, t in [(0, 1), (0, 5), (1, 2), (1, 4), (2, 3)]:
        labels[b, t] = ids[b, t]
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


@pytest.mark.parametrize("positions", ["masked", "tokens", "all"])
def test_loss_equals_a_hand_computation(positions):
    student, teacher = MaskedLMModel(tiny(2, 0)), tiny(3, 1)
    callback = Distillation(teacher, temperature=2.0, alpha_ce=0.3, alpha_kl=0.7, positions=positions)
    batch = tiny_batch()
    outputs = student(batch)
    got = callback.losses(student, outputs, batch, student.loss(outputs, batch))

    with torch.no_grad():
        s = student.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        t = teacher(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    labelled = batch["labels"] != IGNORE_INDEX
    rows = {"masked": labelled, "tokens": batch["attention_mask"].bool(), "all": torch.ones_like(labelled)}[positions]
    ce = F.cross_entropy(s[labelled], batch["labels"][labelled])
    p_t = torch.softmax(t[rows] / 2.0, -1)
    kl = (p_t * (p_t.log() - torch.log_softmax(s[rows] / 2.0, -1))).sum(-1).mean() * 4.0
    assert torch.allclose(got["ce"], ce, atol=1e-5)
    assert torch.allclose(got["kl"], kl, atol=1e-5) and kl > 0
    assert torch.allclose(got["total"], 0.3 * ce + 0.7 * kl, atol=1e-5)
    got["total"].backward()
    assert all(p.grad is None for p in teacher.parameters())
    assert student.model.head.dense.weight.grad is not None


@pytest.fixture(scope="module")
def models(tmp_path_factory, tokenizer_dir):
    root = tmp_path_factory.mktemp("models")
    return {
        "teacher": save_tiny_model(root / "teacher", tokenizer_dir, 6, seed=1),
        "source": save_tiny_model(root / "source28", tokenizer_dir, 28, seed=2),
    }


def scratch_args(mds_dir, tokenizer_dir, run_root, teacher, **extra):
    return tiny_overrides(
        mds_dir,
        tokenizer_dir,
        run_root,
        **{**tiny_shape_overrides(num_hidden_layers=2), "callbacks.distillation.teacher": teacher, **extra},
    )


@pytest.mark.slow
def test_alpha_kl_zero_is_plain_mlm(mds_dir, tokenizer_dir, models, tmp_path):
    """distill_base_27m.yaml with alpha_ce 1, alpha_kl 0 trains exactly as scratch27m.yaml (same shape, seed, data)."""
    extra = {
        "max_duration": "3ba",
        "eval_interval": "3ba",
        "save_interval": "3ba",
        "device_train_microbatch_size": 8,
    }  # distill YAMLs set 8 per device; the same for both runs
    plain = build_trainer(
        load_config(
            [YAMLS / "scratch27m.yaml"],
            tiny_overrides(
                mds_dir, tokenizer_dir, tmp_path / "plain", **tiny_shape_overrides(num_hidden_layers=2), **extra
            ),
        )
    )
    plain.fit()
    plain.close()
    distilled = build_trainer(
        load_config(
            [YAMLS / "distill_base_27m.yaml"],
            scratch_args(
                mds_dir,
                tokenizer_dir,
                tmp_path / "kd",
                models["teacher"],
                **extra,
                **{"callbacks.distillation.alpha_ce": 1.0, "callbacks.distillation.alpha_kl": 0.0},
            ),
        )
    )
    distilled.fit()
    distilled.close()
    a, b = plain.state.model.model.state_dict(), distilled.state.model.model.state_dict()
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    ma = json.loads((tmp_path / "plain" / "docketbert-scratch-27M" / "metrics.json").read_text())
    mb = json.loads((tmp_path / "kd" / "docketbert-distill-base-27M" / "metrics.json").read_text())
    assert ma["eval_loss"] == pytest.approx(mb["eval_loss"], abs=1e-6)


@pytest.mark.integration
def test_distilled_sliced_run(mds_dir, tokenizer_dir, models, tmp_path):
    """The reference's distilled slice, tiny: the teacher gets no gradient and stays out of the checkpoint; CE, KL and
    the total are logged; the export reloads."""
    cfg = load_config(
        [YAMLS / "distill_sliced_large_ft_interleaved_10l.yaml"],
        tiny_overrides(
            mds_dir,
            tokenizer_dir,
            tmp_path,
            **{
                "model.init": models["source"],
                "callbacks.distillation.teacher": models["source"],
                "loggers.tensorboard": True,
            },
        ),
    )
    trainer = build_trainer(cfg)
    callback = next(c for c in trainer.state.callbacks if isinstance(c, Distillation))
    teacher = callback.teacher
    frozen = {k: v.clone() for k, v in teacher.state_dict().items()}
    optimized = {id(p) for g in trainer.state.optimizers[0].param_groups for p in g["params"]}
    assert not optimized & {id(p) for p in teacher.parameters()}
    assert not teacher.training
    trainer.fit()
    trainer.close()
    assert all(p.grad is None and not p.requires_grad for p in teacher.parameters())
    assert all(torch.equal(frozen[k], v) for k, v in teacher.state_dict().items())

    run_dir = tmp_path / cfg.run_name
    checkpoint = torch.load(run_dir / "checkpoints" / "latest-rank0.pt", map_location="cpu", weights_only=False)
    model_keys = set(checkpoint["state"]["model"])
    assert model_keys == {f"model.{k}" for k in trainer.state.model.model.state_dict()}
    assert not any("teacher" in k for k in model_keys)
    assert checkpoint["state"]["callbacks"].get("Distillation", {}) == {}
    student_numel = sum(v.numel() for v in checkpoint["state"]["model"].values())
    assert student_numel < sum(v.numel() for v in teacher.state_dict().values())  # 10 of the teacher's 28 layers

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(next((run_dir / "tb").rglob("events.out.tfevents*")).parent)).Reload()
    tags = set(events.Tags()["scalars"])
    assert {"loss/train/ce", "loss/train/kl", "loss/train/total"} <= tags, tags
    ce, kl, total = (events.Scalars(f"loss/train/{k}")[-1].value for k in ("ce", "kl", "total"))
    assert total == pytest.approx(0.9 * ce + 0.1 * kl, rel=1e-4) and kl > 0
    assert load_export(run_dir).config.num_hidden_layers == 10


def test_vocabulary_mismatch_is_an_error(mds_dir, tokenizer_dir, tmp_path):
    other = save_tiny_model(tmp_path / "big_vocab", tokenizer_dir, 2, with_tokenizer=False, vocab_size=4096)
    args = scratch_args(mds_dir, tokenizer_dir, tmp_path, other)
    with pytest.raises(ConfigError, match="vocabulary of 4096 but the student has 2048"):
        build_trainer(load_config([YAMLS / "distill_base_27m.yaml"], args))

    from tokenizers import Tokenizer

    renamed = save_tiny_model(tmp_path / "other_tok", tokenizer_dir, 2)
    tok = json.loads((renamed / "tokenizer.json").read_text())
    vocab = tok["model"]["vocab"]
    a, b = sorted(vocab, key=vocab.get)[300:302]
    vocab[a], vocab[b] = vocab[b], vocab[a]  # same size, two ids swapped: a different tokenizer
    (renamed / "tokenizer.json").write_text(json.dumps(tok))
    Tokenizer.from_file(str(renamed / "tokenizer.json"))
    with pytest.raises(ConfigError, match="different tokenizer"):
        build_trainer(
            load_config([YAMLS / "distill_base_27m.yaml"], scratch_args(mds_dir, tokenizer_dir, tmp_path, renamed))
        )


def test_packing_is_refused(mds_dir, tokenizer_dir, tmp_path):
    """The teacher runs on padded batches: a packed distillation run is a config error, not silently wrong."""
    teacher = save_tiny_model(tmp_path / "teacher", tokenizer_dir, 2)
    args = scratch_args(mds_dir, tokenizer_dir, tmp_path, teacher) + ["data.packing=true"]
    with pytest.raises(ConfigError, match="does not support data.packing"):
        build_trainer(load_config([YAMLS / "distill_base_27m.yaml"], args))
