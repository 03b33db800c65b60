"""Layer slicing: the plain function, the reference's layer lists and parameter counts, and the Composer algorithm
(optimizer surgery, training, resume, HF export) through the real Trainer on the entry corpus (real or generated)."""

import json

import pytest
import torch
from tiny_models import YAMLS, load_export, save_tiny_model, tiny_overrides
from transformers import ModernBertConfig, ModernBertForMaskedLM

from docketbert.config import load_config
from docketbert.model.build import count_parameters
from docketbert.model.slicing import layer_indices, slice_layers
from docketbert.training.trainer import build_trainer

SEED_LISTS = {  # experiments.md, "Sliced models"
    ("first", 4, 22): [0, 1, 2, 3],
    ("interleaved", 4, 22): [0, 7, 14, 21],
    ("first", 6, 28): [0, 1, 2, 3, 4, 5],
    ("interleaved", 6, 28): [0, 5, 10, 15, 20, 25],
    ("interleaved", 8, 28): [0, 3, 6, 9, 12, 16, 20, 24],
    ("interleaved", 10, 28): [0, 3, 6, 9, 12, 15, 18, 21, 24, 27],
}
BASE = dict(vocab_size=50368)  # ModernBERT-base is transformers' default config
LARGE = dict(vocab_size=50368, hidden_size=1024, num_hidden_layers=28, num_attention_heads=16, intermediate_size=2624)


@pytest.mark.parametrize("key, expected", SEED_LISTS.items())
def test_layer_indices_are_the_seeds_lists(key, expected):
    assert layer_indices(*key) == expected


def test_layer_indices_rule_beyond_the_seed_and_errors():
    assert layer_indices("interleaved", 3, 13) == [0, 6, 12]
    with pytest.raises(ValueError, match="between 1 and"):
        layer_indices("first", 30, 28)
    with pytest.raises(ValueError, match="not one of"):
        layer_indices("every", 3, 28)


def tiny_source(num_layers: int, **config) -> ModernBertForMaskedLM:
    torch.manual_seed(0)
    cfg = ModernBertConfig(
        vocab_size=96,
        hidden_size=16,
        num_hidden_layers=num_layers,
        num_attention_heads=2,
        intermediate_size=24,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        cls_token_id=1,
        sep_token_id=2,
        **config,
    )
    return ModernBertForMaskedLM(cfg)


@pytest.mark.parametrize("key", list(SEED_LISTS))
def test_slice_keeps_exactly_the_requested_layers(key):
    mode, num, source_layers = key
    source = tiny_source(source_layers)
    layers = layer_indices(mode, num, source_layers)
    sliced = slice_layers(source, layers)
    assert sliced.config.num_hidden_layers == len(sliced.model.layers) == num
    src_state = source.state_dict()
    for j, i in enumerate(layers):
        for name, tensor in sliced.model.layers[j].state_dict().items():
            assert torch.equal(tensor, src_state[f"model.layers.{i}.{name}"]), (j, i, name)
        # a different source layer is not what was kept
        other = (i + 1) % source_layers
        assert not torch.equal(sliced.model.layers[j].attn.Wqkv.weight, source.model.layers[other].attn.Wqkv.weight)
    assert torch.equal(sliced.model.embeddings.tok_embeddings.weight, source.model.embeddings.tok_embeddings.weight)
    assert sliced.decoder.weight is sliced.model.embeddings.tok_embeddings.weight  # still tied
    # default attention: each kept layer keeps its kind; the source is global every 3rd layer
    assert sliced.config.layer_types == [source.config.layer_types[i] for i in layers]
    assert [layer.attn.sliding_window is None for layer in sliced.model.layers] == [
        source.config.layer_types[i] == "full_attention" for i in layers
    ]


def test_attention_every_n_and_head_options():
    source = tiny_source(28)
    layers = layer_indices("interleaved", 10, 28)
    kept = slice_layers(source, layers, copy_head=True)
    fresh = slice_layers(source, layers, copy_head=False, attention="every_n", global_attn_every_n_layers=2)
    assert fresh.config.layer_types == ["full_attention", "sliding_attention"] * 5
    assert kept.config.layer_types != fresh.config.layer_types  # 3, 9, 15, 21, 27 are local in the source
    for name in ("head.dense.weight", "head.norm.weight", "model.final_norm.weight", "decoder.bias"):
        assert torch.equal(kept.state_dict()[name], source.state_dict()[name]), name
    for name in ("head.dense.weight",):
        assert not torch.equal(fresh.state_dict()[name], source.state_dict()[name]), name
    assert torch.equal(fresh.decoder.weight, source.decoder.weight)  # tied to the copied embeddings
    ids = torch.randint(3, 96, (2, 300))
    with torch.no_grad():
        assert torch.isfinite(fresh(input_ids=ids).logits).all()
    with pytest.raises(ValueError, match="start with layer 0"):
        slice_layers(source, [1, 2])
    with pytest.raises(ValueError, match="distinct and increasing"):
        slice_layers(source, [0, 5, 3])


def seed_param_count(yaml_name: str) -> tuple[int, int]:
    """(parameters of the run's model at ModernBERT's real shapes, built on the meta device; the name's suffix)."""
    cfg = load_config([YAMLS / yaml_name])
    if cfg.model.init is None:
        config = ModernBertConfig(**{**BASE, **cfg.model.config})
    else:
        config = ModernBertConfig(**(BASE if "base" in cfg.model.init.lower() else LARGE))
    with torch.device("meta"):
        model = ModernBertForMaskedLM(config)
    options = cfg.algorithms.get("layer_slicing")
    if options:
        layers = options.get("layers") or layer_indices(
            options["mode"], options["num_layers"], config.num_hidden_layers
        )
        model = slice_layers(
            model, layers, copy_head=options.get("copy_head", True), attention=options.get("attention", "keep")
        )
    return count_parameters(model), int(cfg.run_name.rsplit("-", 1)[1].rstrip("M"))


@pytest.mark.parametrize(
    "yaml_name", sorted(p.name for p in YAMLS.glob("*.yaml") if not p.name.startswith("_") and p.name != "tiny.yaml")
)
def test_param_count_matches_the_name(yaml_name):
    count, suffix = seed_param_count(yaml_name)
    assert abs(count / 1e6 - suffix) < 1.0, (yaml_name, count)


def test_sliced_yamls_keep_the_seeds_lists():
    expected = {
        "sliced_base_first_4l": [0, 1, 2, 3],
        "sliced_base_interleaved_4l": [0, 7, 14, 21],
        "sliced_large_ft_interleaved_8l": [0, 3, 6, 9, 12, 16, 20, 24],
        "sliced_large_ft_interleaved_10l": list(range(0, 28, 3)),
        "sliced_large_interleaved_6l": [0, 5, 10, 15, 20, 25],
    }
    for stem, layers in expected.items():
        options = load_config([YAMLS / f"{stem}.yaml"]).algorithms["layer_slicing"]
        source = 22 if "base" in stem else 28
        assert layer_indices(options["mode"], options["num_layers"], source) == layers, stem


@pytest.fixture(scope="module")
def source_28l(tmp_path_factory, tokenizer_dir):
    """Stands in for docketbert-large-395M's export: 28 layers, global every 3rd, the test tokenizer."""
    return save_tiny_model(tmp_path_factory.mktemp("src") / "hf", tokenizer_dir, 28)


@pytest.mark.integration
def test_sliced_run_trains_resumes_and_exports(mds_dir, tokenizer_dir, source_28l, tmp_path):
    """The real seed YAML, tiny: slices at INIT, the optimizer holds exactly the sliced parameters, it trains,
    a checkpoint resumes into the sliced model, and the export reloads with 10 layers."""
    yaml = YAMLS / "sliced_large_ft_interleaved_10l.yaml"
    args = tiny_overrides(mds_dir, tokenizer_dir, tmp_path, **{"model.init": source_28l})
    cfg = load_config([yaml], args)
    trainer = build_trainer(cfg)
    hf = trainer.state.model.model
    assert hf.config.num_hidden_layers == 10
    opt_params = [p for group in trainer.state.optimizers[0].param_groups for p in group["params"]]
    assert len(opt_params) == len({id(p) for p in opt_params})
    assert {id(p) for p in opt_params} == {id(p) for p in hf.parameters()}
    decay = {id(p) for p in trainer.state.optimizers[0].param_groups[0]["params"]}
    assert all((id(p) in decay) == (p.ndim >= 2) for p in hf.parameters())
    source = ModernBertForMaskedLM.from_pretrained(source_28l)
    assert torch.equal(hf.model.layers[9].mlp.Wi.weight, source.model.layers[27].mlp.Wi.weight)
    before = {k: v.clone() for k, v in hf.state_dict().items()}
    trainer.fit()
    trainer.close()
    after = trainer.state.model.model.state_dict()
    assert all(not torch.equal(before[k], after[k]) for k in ("model.layers.9.mlp.Wi.weight", "head.dense.weight"))
    run_dir = tmp_path / cfg.run_name
    info = json.loads((run_dir / "run_info.json").read_text())
    assert info["num_params"] == count_parameters(hf) < count_parameters(source)
    assert info["slicing"]["layers"] == list(range(0, 28, 3))
    checkpoint = torch.load(run_dir / "checkpoints" / "latest-rank0.pt", map_location="cpu", weights_only=False)
    assert (
        checkpoint["state"]["model"]["model.model.layers.9.mlp.Wi.weight"].shape
        == hf.model.layers[9].mlp.Wi.weight.shape
    )
    assert "model.model.layers.10.mlp.Wi.weight" not in checkpoint["state"]["model"]
    metadata = checkpoint["state"]["integrations"]["huggingface"]["model"]["config"]["content"]
    assert metadata["num_hidden_layers"] == len(metadata["layer_types"]) == 10
    first = json.loads((run_dir / "metrics.json").read_text())
    assert first["batches"] == 4 and first["eval_loss"] > 0

    # resume: 4 more batches from the checkpoint; the restored weights are the trained slice's, not a fresh slice
    (run_dir / "metrics.json").unlink()
    cfg2 = load_config([yaml], args + ["max_duration=8ba", "save_interval=8ba", "eval_interval=8ba"])
    resumed = build_trainer(cfg2)
    assert int(resumed.state.timestamp.batch) == 4
    restored = resumed.state.model.model.state_dict()
    assert all(torch.equal(restored[k], after[k]) for k in after)
    resumed.fit()
    resumed.close()
    assert json.loads((run_dir / "metrics.json").read_text())["batches"] == 8
    exported = load_export(run_dir)
    assert exported.config.num_hidden_layers == 10
    assert exported.config.layer_types == ["full_attention", "sliding_attention"] * 5  # the reference's every_n: 2
    assert torch.equal(
        exported.model.layers[3].attn.Wqkv.weight, resumed.state.model.model.model.layers[3].attn.Wqkv.weight
    )


@pytest.mark.slow
def test_continued_pretraining_family(mds_dir, tokenizer_dir, source_28l, tmp_path):
    """large395m.yaml with model.init pointing at a tiny model: continued pretraining writes a reloadable export."""
    cfg = load_config(
        [YAMLS / "large395m.yaml"],
        tiny_overrides(mds_dir, tokenizer_dir, tmp_path, **{"model.init": source_28l, "max_duration": "2ba"}),
    )
    trainer = build_trainer(cfg)
    trainer.fit()
    trainer.close()
    exported = load_export(tmp_path / cfg.run_name)
    assert exported.config.num_hidden_layers == 28
    assert torch.equal(exported.model.layers[5].mlp.Wo.weight, trainer.state.model.model.model.layers[5].mlp.Wo.weight)
