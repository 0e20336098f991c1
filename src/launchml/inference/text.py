"""Texts to token ids, the same way at training, at prediction and in an exported bundle.

Two tokenizers, both torch-free (the bundle runtime imports this module):

- :class:`WordTokenizer`: a :class:`launchml.data.vocab.WordVocab` learnt from the training
  texts (``tokenizer: word``);
- :class:`WordPieceTokenizer`: a Hugging Face tokenizer's ``tokenizer.json``, run by the
  ``tokenizers`` library itself. A ``transformers`` fast tokenizer is a thin wrapper of exactly
  this object (``hf_tokenizer.backend_tokenizer``), so training (which loads the tokenizer through
  ``transformers``) and a bundle (which reads ``tokenizer.json``) tokenise identically.

Both give ``encode(texts) -> list[list[int]]``: at most ``max_length`` ids per text, never an
empty list (an empty text becomes one unknown token: packed LSTMs reject length 0), and a
``pad_id`` to pad batches with.

Example::

    tokenizer = WordPieceTokenizer.from_file("bundle/tokenizer.json", max_length=128)
    tokenizer.encode(["card lost"])     # [[101, 4003, 2439, 102]]
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from tokenizers import Tokenizer

    from launchml.data.vocab import WordVocab


class TextTokenizer(Protocol):
    """What the prediction code needs of a tokenizer."""

    pad_id: int

    def encode(self, texts: list[str]) -> list[list[int]]: ...


class WordTokenizer:
    """Words and punctuation looked up in a word vocabulary, cut at ``max_length``."""

    def __init__(self, vocab: WordVocab, max_length: int) -> None:
        self.vocab = vocab
        self.max_length = max_length
        self.pad_id = vocab.pad_id

    def encode(self, texts: list[str]) -> list[list[int]]:
        unk = self.vocab.unk_id
        return [self.vocab.encode(text)[: self.max_length] or [unk] for text in texts]


class WordPieceTokenizer:
    """A ``tokenizers.Tokenizer`` (WordPiece, BPE, ...): the model's special tokens added
    (``special_tokens``: what a transformer reads) or not (what embedding models read)."""

    def __init__(
        self,
        tokenizer: Tokenizer,
        max_length: int,
        special_tokens: bool = True,
        pad_id: int | None = None,
        unk_id: int | None = None,
    ) -> None:
        # A private copy: a saved tokenizer.json may carry padding/truncation settings (the
        # bundled MiniLM pads everything to 128), and the caller's object stays untouched.
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_str(tokenizer.to_str())
        self.tokenizer.no_padding()
        self.max_length = max_length
        self.special_tokens = special_tokens
        if special_tokens:  # truncation keeps room for [CLS]/[SEP], as transformers does
            self.tokenizer.enable_truncation(max_length)
        else:
            self.tokenizer.no_truncation()
        self.pad_id = _token_id(self.tokenizer, pad_id, ("[PAD]", "<pad>"), 0)
        self.unk_id = _token_id(self.tokenizer, unk_id, ("[UNK]", "<unk>"), self.pad_id)

    @classmethod
    def from_file(
        cls,
        path: str | Path,
        max_length: int,
        special_tokens: bool = True,
        pad_id: int | None = None,
        unk_id: int | None = None,
    ) -> WordPieceTokenizer:
        """Read a ``tokenizer.json``."""
        from tokenizers import Tokenizer

        return cls(Tokenizer.from_file(str(path)), max_length, special_tokens, pad_id, unk_id)

    @classmethod
    def from_hf(
        cls, hf_tokenizer: Any, max_length: int, special_tokens: bool = True
    ) -> WordPieceTokenizer:
        """The backend of a ``transformers`` fast tokenizer, with its pad and unknown ids."""
        pad = hf_tokenizer.pad_token_id
        return cls(
            hf_tokenizer.backend_tokenizer,
            max_length,
            special_tokens,
            0 if pad is None else int(pad),
            hf_tokenizer.unk_token_id,
        )

    def encode(self, texts: list[str]) -> list[list[int]]:
        if not texts:
            return []
        encoded = self.tokenizer.encode_batch(list(texts), add_special_tokens=self.special_tokens)
        if self.special_tokens:
            return [list(e.ids) for e in encoded]
        return [list(e.ids)[: self.max_length] or [self.unk_id] for e in encoded]


def _token_id(tokenizer: Tokenizer, given: int | None, names: tuple[str, ...], default: int) -> int:
    if given is not None:
        return int(given)
    for name in names:
        found = tokenizer.token_to_id(name)
        if found is not None:
            return int(found)
    return default


__all__ = ["TextTokenizer", "WordPieceTokenizer", "WordTokenizer"]
