"""The one place that knows how transformers lays out a ModernBERT: its submodules and its state-dict names.

Everything else asks this module for the encoder of a masked-LM, its token embeddings, the MLM head's logits, or
where a layer's weights live in a state dict, so that a change in transformers' layout is mended here only. The
unpadded forward (`docketbert.model.unpadded`) is a reimplementation of the encoder layer and reads the layer's
own submodules directly.
"""

from __future__ import annotations

import re

import torch
from transformers import ModernBertForMaskedLM, ModernBertModel

# State-dict names of a ModernBertForMaskedLM.
LAYER_KEY = re.compile(r"^model\.layers\.(\d+)\.(.*)$")  # (layer index, the rest of the name)
HEAD_PREFIXES = ("model.final_norm.", "head.", "decoder.")  # re-initialised when a slice does not copy the head
TIED_DECODER_KEY = "decoder.weight"  # tied to the token embeddings: never loaded on its own


def layer_key(index: int, rest: str) -> str:
    """The state-dict name of parameter `rest` of encoder layer `index`."""
    return f"model.layers.{index}.{rest}"


def encoder_of(model: torch.nn.Module) -> ModernBertModel:
    """The bare encoder of a ModernBERT with a head (masked-LM, sequence or token classification), or the encoder."""
    return getattr(model, model.base_model_prefix, model)


def token_embeddings(encoder: ModernBertModel) -> torch.nn.Embedding:
    return encoder.embeddings.tok_embeddings


def embedding_parameters(model: ModernBertForMaskedLM) -> int:
    """Parameters of the token embeddings (tied to the decoder): what a non-embedding count leaves out."""
    return token_embeddings(encoder_of(model)).weight.numel()


def mlm_logits(model: ModernBertForMaskedLM, hidden: torch.Tensor) -> torch.Tensor:
    """The masked-LM head (prediction head, then the decoder) on encoder outputs `hidden` (..., hidden_size)."""
    return model.decoder(model.head(hidden))


def classifier_logits(model: torch.nn.Module, hidden: torch.Tensor) -> torch.Tensor:
    """A ModernBertFor{Sequence,Token}Classification's layers after the encoder (head, then classifier) on pooled
    (sequence) or per-token (token) encoder outputs; dropout is inactive at inference."""
    return model.classifier(model.head(hidden))
