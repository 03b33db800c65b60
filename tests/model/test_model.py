"""Model building and the masked-only MLM head, checked against transformers' own dense loss."""

import pytest
import torch
from transformers import ModernBertForMaskedLM

from docketbert.core.tokenizer import load_tokenizer
from docketbert.data.mlm import MLMCollator
from docketbert.model.build import build_mlm_model, count_parameters, resolve_attn_implementation
from docketbert.model.masked_lm import MaskedLMModel

TINY = {
    "hidden_size": 32,
    "num_hidden_layers": 3,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "global_attn_every_n_layers": 3,
    "local_attention": 16,
}


def test_attention_falls_back_to_sdpa_without_flash_attn(caplog):
    assert resolve_attn_implementation("auto", on_gpu=False) == "sdpa"
    assert resolve_attn_implementation("flash_attention_2", on_gpu=False) == "sdpa"
    assert "falling back to sdpa" in caplog.text
    assert resolve_attn_implementation("eager", on_gpu=False) == "eager"
    with pytest.raises(ValueError, match="flash_attention_3"):
        resolve_attn_implementation("flash_attention_3", on_gpu=False)


def test_scratch_model_matches_tokenizer(tokenizer_dir):
    tokenizer = load_tokenizer(str(tokenizer_dir))
    model = build_mlm_model(None, TINY, tokenizer, "sdpa")
    assert model.config.vocab_size == len(tokenizer) and model.config.vocab_size % 64 == 0
    assert model.config.pad_token_id == tokenizer.pad_token_id
    assert model.config.layer_types == ["full_attention", "sliding_attention", "sliding_attention"]
    assert model.config._attn_implementation == "sdpa"
    assert model.decoder.weight is model.model.embeddings.tok_embeddings.weight  # tied: counted once
    assert count_parameters(model) == sum(p.numel() for p in model.parameters())
    with pytest.raises(ValueError, match="vocab_size"):
        build_mlm_model(None, {**TINY, "vocab_size": 64}, tokenizer, "sdpa")


def test_continued_pretraining_loads_a_directory(tmp_path, tokenizer_dir):
    tokenizer = load_tokenizer(str(tokenizer_dir))
    build_mlm_model(None, TINY, tokenizer, "sdpa").save_pretrained(tmp_path)
    model = build_mlm_model(str(tmp_path), {}, tokenizer, "eager")
    assert isinstance(model, ModernBertForMaskedLM) and model.config._attn_implementation == "eager"


def test_masked_only_head_equals_dense_loss(tokenizer_dir):
    torch.manual_seed(0)
    tokenizer = load_tokenizer(str(tokenizer_dir))
    hf_model = build_mlm_model(None, TINY, tokenizer, "sdpa").eval()
    texts = ["ORDER granting 12 Motion to Dismiss.", "NOTICE of Appearance by counsel on behalf of the debtor " * 3]
    samples = [{"input_ids": tokenizer(t)["input_ids"]} for t in texts]
    batch = MLMCollator.for_tokenizer(tokenizer)(samples)
    composer_model = MaskedLMModel(hf_model, tokenizer)
    with torch.no_grad():
        ours = composer_model.loss(composer_model(batch), batch)
        dense = hf_model(**batch).loss
    assert torch.allclose(ours, dense, atol=1e-5), (ours, dense)
    outputs = composer_model(batch)
    assert outputs["logits"].shape == ((batch["labels"] != -100).sum().item(), len(tokenizer))


def test_model_source_resolves_earlier_run_exports(tmp_path):
    from docketbert.model.build import resolve_model_source

    (tmp_path / "docketbert-large-395M" / "hf").mkdir(parents=True)
    (tmp_path / "docketbert-large-395M" / "hf" / "config.json").write_text("{}")
    assert resolve_model_source("docketbert-large-395M", tmp_path) == str(tmp_path / "docketbert-large-395M" / "hf")
    assert resolve_model_source("answerdotai/ModernBERT-large", tmp_path) == "answerdotai/ModernBERT-large"
