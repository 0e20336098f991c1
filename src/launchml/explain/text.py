"""Token attributions of the torch text models by Integrated Gradients on the embedding layer.

For ``lstm``, ``textcnn`` and ``transformer`` Captum's ``LayerIntegratedGradients`` integrates
along a straight path between the embedding layer's output for a baseline text and for the
input, and the attribution of a token is the sum of its embedding dimensions' attributions.
The baseline is the same text with every token replaced by padding (whose embedding row is
zero for the models trained from scratch); a transformer keeps its [CLS] and [SEP] tokens and
its attention mask, so the baseline differs from the input only in the words. An ``mlp`` over
texts averages its word vectors in an ``EmbeddingBag``, which has no per-token output to hook:
it is integrated on the token vectors themselves (Captum's ``IntegratedGradients``, from zero
vectors, i.e. padding), which gives the same kind of number.

Example::

    explanation = explain_text(model, "where is my parcel", answer)
    [(t.token, round(t.attribution, 2)) for t in explanation.tokens]
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from launchml.data.vocab import word_spans
from launchml.explain.integrated import INTERNAL_BATCH, converge, convergence_note, target_logit
from launchml.explain.result import Answer, Explanation, TokenAttribution
from launchml.inference.text import TextTokenizer, WordPieceTokenizer, WordTokenizer


@dataclass
class Tokens:
    """A text's token ids as the model reads them, with the tokens' strings and offsets;
    ``special`` marks tokens the model adds itself ([CLS], [SEP])."""

    ids: list[int]
    strings: list[str]
    spans: list[tuple[int | None, int | None]]
    special: list[bool]


def tokens_of(tokenizer: TextTokenizer, text: str) -> Tokens:
    """Tokenise ``text`` exactly as prediction does, keeping where each token came from."""
    ids = tokenizer.encode([text])[0]
    if isinstance(tokenizer, WordPieceTokenizer):
        encoding = tokenizer.tokenizer.encode(text, add_special_tokens=tokenizer.special_tokens)
        n = len(ids)
        strings, offsets = list(encoding.tokens)[:n], list(encoding.offsets)[:n]
        special = [bool(s) for s in encoding.special_tokens_mask][:n]
        if list(encoding.ids)[:n] == ids:
            spans: list[tuple[int | None, int | None]] = [
                (None, None) if sp else (a, b) for (a, b), sp in zip(offsets, special, strict=True)
            ]
            return Tokens(ids, strings, spans, special)
    elif isinstance(tokenizer, WordTokenizer):
        found = word_spans(text)[: len(ids)]
        if len(found) == len(ids):
            return Tokens(
                ids, [w for w, _, _ in found], [(a, b) for _, a, b in found], [False] * len(ids)
            )
    # an empty text (one unknown token), or a tokenizer we cannot follow: ids without offsets
    return Tokens(ids, [f"#{i}" for i in ids], [(None, None)] * len(ids), [False] * len(ids))


@contextlib.contextmanager
def explaining(net: nn.Module) -> Iterator[None]:
    """Evaluation mode, gradients on, and fp32 (a bf16 autocast would blur the gradients)."""
    was_training, bf16 = net.training, getattr(net, "bf16", None)
    net.eval()
    if bf16:
        net.bf16 = False  # type: ignore[assignment]
    try:
        with torch.enable_grad():
            yield
    finally:
        net.train(was_training)
        if bf16:
            net.bf16 = True  # type: ignore[assignment]


def explain_text(model: Any, text: str, answer: Answer, steps: int | None = None) -> Explanation:
    """Integrated Gradients token attributions of a fitted ``lstm``, ``textcnn``, ``mlp`` (text)
    or ``transformer`` model for ``text`` (already cleaned as the model reads it)."""
    tokens = tokens_of(model.text_tokenizer(), text)
    net: nn.Module = model.module_
    ids = torch.tensor([tokens.ids], dtype=torch.long)
    if model.name == "transformer":
        setup = _transformer_setup(net, ids, tokens, model.text_tokenizer().pad_id)
    elif model.name == "mlp":
        setup = _bag_setup(net, ids)
    else:
        setup = _embedding_setup(net, ids, model.text_tokenizer().pad_id)
    with explaining(net):
        score = target_logit(setup.forward, answer.target, setup.inputs, *setup.extra)
        baseline_score = target_logit(setup.forward, answer.target, setup.baseline, *setup.extra)
        attributions, check = converge(
            lambda n: setup.attribute(answer.target, n), score - baseline_score, steps
        )
    per_token = attributions.double().sum(-1)[0].tolist()  # sum over the embedding dimensions
    explained = [
        TokenAttribution(string, start, end, float(value))
        for string, (start, end), value, special in zip(
            tokens.strings, tokens.spans, per_token, tokens.special, strict=True
        )
        if not special
    ]
    note = convergence_note(check)
    return Explanation(
        kind="text",
        method="integrated_gradients",
        input=answer.description,
        predicted=answer.predicted_label,
        target=answer.target_label,
        probability=answer.probability,
        score=score,
        baseline=setup.baseline_name,
        baseline_score=baseline_score,
        tokens=explained,
        completeness=check,
        notes=[note] if note else [],
    )


@dataclass
class _Setup:
    """One model's forward function, its inputs and baseline, and the Captum call."""

    forward: Callable[..., torch.Tensor]
    inputs: torch.Tensor
    baseline: torch.Tensor
    extra: tuple[torch.Tensor, ...]
    baseline_name: str
    attribute: Callable[[int, int], tuple[torch.Tensor, torch.Tensor]]


def _layer_ig(
    forward: Callable[..., torch.Tensor],
    layer: nn.Module,
    inputs: torch.Tensor,
    baseline: torch.Tensor,
    extra: tuple[torch.Tensor, ...],
) -> Callable[[int, int], tuple[torch.Tensor, torch.Tensor]]:
    from captum.attr import LayerIntegratedGradients

    method = LayerIntegratedGradients(forward, layer)

    def attribute(target: int, n_steps: int) -> tuple[torch.Tensor, torch.Tensor]:
        return method.attribute(
            inputs,
            baselines=baseline,
            target=target,
            additional_forward_args=extra,
            n_steps=n_steps,
            internal_batch_size=INTERNAL_BATCH,
            return_convergence_delta=True,
        )

    return attribute


def _embedding_setup(net: nn.Module, ids: torch.Tensor, pad_id: int) -> _Setup:
    """``lstm`` / ``textcnn``: ``net(ids, lengths)``, IG on ``net.embedding``."""
    lengths = torch.tensor([ids.shape[1]], dtype=torch.long)
    baseline = torch.full_like(ids, pad_id)
    embedding: nn.Module = net.embedding  # type: ignore[assignment]
    return _Setup(
        net,
        ids,
        baseline,
        (lengths,),
        "every token replaced by padding (zero vectors)",
        _layer_ig(net, embedding, ids, baseline, (lengths,)),
    )


def _transformer_setup(net: nn.Module, ids: torch.Tensor, tokens: Tokens, pad_id: int) -> _Setup:
    """``transformer``: ``net(ids, mask)``, IG on the word embeddings; [CLS]/[SEP] kept."""
    mask = torch.ones_like(ids)
    special = torch.tensor([tokens.special])
    baseline = torch.where(special, ids, torch.full_like(ids, pad_id))
    embeddings = net.hf.get_input_embeddings()  # type: ignore[operator, union-attr]
    return _Setup(
        net,
        ids,
        baseline,
        (mask,),
        "every word replaced by [PAD] ([CLS], [SEP] and the attention mask kept)",
        _layer_ig(net, embeddings, ids, baseline, (mask,)),
    )


class _MeanOfVectors(nn.Module):
    """An ``mlp`` over texts from its token vectors: the ``EmbeddingBag``'s mean made explicit."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, vectors: torch.Tensor) -> torch.Tensor:
        hidden = vectors.mean(1) + self.net.get_parameter("bag_bias")
        rest: nn.Module = self.net.get_submodule("rest")
        return rest(hidden)


def _bag_setup(net: nn.Module, ids: torch.Tensor) -> _Setup:
    from captum.attr import IntegratedGradients

    vectors = net.bag.weight[ids].detach()  # type: ignore[index, union-attr]
    baseline = torch.zeros_like(vectors)
    forward = _MeanOfVectors(net)
    method = IntegratedGradients(forward)

    def attribute(target: int, n_steps: int) -> tuple[torch.Tensor, torch.Tensor]:
        return method.attribute(
            vectors,
            baselines=baseline,
            target=target,
            n_steps=n_steps,
            internal_batch_size=INTERNAL_BATCH,
            return_convergence_delta=True,
        )

    return _Setup(forward, vectors, baseline, (), "every token a zero vector (padding)", attribute)


__all__ = ["Answer", "Tokens", "explain_text", "explaining", "tokens_of"]
