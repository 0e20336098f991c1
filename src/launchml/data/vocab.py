"""Tokenisation for models that read words: a word vocabulary, or a pretrained WordPiece tokenizer.

Example::

    vocab = WordVocab.build(["the cat sat", "the dog"], min_freq=1, max_size=100)
    vocab.encode("the bird")  # [id('the'), vocab.unk_id]
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from launchml.errors import DamagedArtifactError, InvalidConfigError

PAD = "<pad>"
UNK = "<unk>"
_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def split_words(text: str, lowercase: bool = True) -> list[str]:
    """Words and punctuation marks: ``"Where's it?"`` -> ``["where", "'", "s", "it", "?"]``."""
    return _TOKEN.findall(text.lower() if lowercase else text)


def word_spans(text: str) -> list[tuple[str, int, int]]:
    """The tokens of :func:`split_words` (case kept) with their character offsets in ``text``."""
    return [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]


class WordVocab:
    """Maps words to ids. Id 0 is padding, id 1 the out-of-vocabulary token."""

    pad_id = 0
    unk_id = 1

    def __init__(self, words: list[str], lowercase: bool = True) -> None:
        self.words = [PAD, UNK, *words]
        self.lowercase = lowercase
        self.index = {word: i for i, word in enumerate(self.words)}

    @classmethod
    def build(
        cls, texts: Iterable[str], min_freq: int = 1, max_size: int = 30000, lowercase: bool = True
    ) -> WordVocab:
        """Keep the ``max_size - 2`` most frequent words seen at least ``min_freq`` times.

        Ties are broken alphabetically so the same data always gives the same ids.
        """
        counts = Counter(word for text in texts for word in split_words(text, lowercase))
        ranked = sorted(
            (w for w, c in counts.items() if c >= min_freq), key=lambda w: (-counts[w], w)
        )
        return cls(ranked[: max(0, max_size - 2)], lowercase)

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, text: str) -> list[int]:
        return [self.index.get(w, self.unk_id) for w in split_words(text, self.lowercase)]

    def save(self, path: Path) -> None:
        data = {"lowercase": self.lowercase, "words": self.words}
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> WordVocab:
        data = json.loads(path.read_text(encoding="utf-8"))
        words = data["words"]
        if words[:2] != [PAD, UNK]:
            raise DamagedArtifactError(f"{path}: not a launchml vocabulary (missing {PAD}/{UNK})")
        return cls(words[2:], data["lowercase"])


def load_wordpiece(model_dir: str | Path) -> Any:
    """The pretrained (WordPiece) tokenizer of a Hugging Face model directory, offline.

    Returns a ``transformers`` fast tokenizer; never downloads anything.
    """
    path = Path(model_dir)
    if not (path / "tokenizer.json").is_file() and not (path / "vocab.txt").is_file():
        raise InvalidConfigError(
            f"{path}: no tokenizer.json or vocab.txt; expected a Hugging Face model directory"
        )
    from transformers import AutoTokenizer  # heavy import, only when needed

    try:
        return AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError) as exc:  # e.g. vocab.txt without a config naming the class
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidConfigError(
            f"{path}: cannot load the tokenizer ({first}); a vocab.txt needs a config.json or "
            "tokenizer_config.json beside it that names the tokenizer class"
        ) from None
