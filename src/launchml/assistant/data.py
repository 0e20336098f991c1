"""Reading an assistant project's example tables: intents (text, intent, lang) and plain
messages (text, lang), with the language column optional (missing: the default language)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from launchml.data.load import detect_format
from launchml.data.tables import _missing, read_table
from launchml.errors import InvalidInputError, did_you_mean


def column(frame: object, name: str, path: Path) -> str:
    """``name`` if the table has that column, else one line naming the columns it has."""
    columns = [str(c) for c in frame.columns]  # type: ignore[attr-defined]
    if name not in columns:
        raise InvalidInputError(
            f"{path}: no column '{name}'; columns are: {', '.join(columns)}"
            f"{did_you_mean(name, columns)}"
        )
    return name


@dataclass
class Examples:
    """Messages with their intent (``""`` for unlabelled ones) and language, in file order."""

    texts: list[str]
    intents: list[str]
    langs: list[str]

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, index: np.ndarray | list[int]) -> Examples:
        return Examples(
            [self.texts[i] for i in index],
            [self.intents[i] for i in index],
            [self.langs[i] for i in index],
        )

    def write_csv(self, path: Path) -> Path:
        import pandas as pd

        frame = pd.DataFrame({"text": self.texts, "intent": self.intents, "lang": self.langs})
        frame.to_csv(path, index=False)
        return path


def read_examples(
    path: str | Path, languages: list[str], default: str, labelled: bool = True
) -> Examples:
    """Rows of ``path`` (CSV/TSV/JSONL/Parquet): column ``text``, ``intent`` when ``labelled``,
    and an optional ``lang`` that must be one of ``languages``."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"{path}: file not found")
    frame = read_table(path, detect_format(path))
    text_col = column(frame, "text", path)
    intent_col = column(frame, "intent", path) if labelled else None
    has_lang = "lang" in frame.columns
    texts, intents, langs = [], [], []
    first_line = 2 if detect_format(path) in ("csv", "tsv") else 1
    for i, row in enumerate(frame.to_dict("records")):
        where = f"{path}: line {i + first_line}"
        text = "" if _missing(row[text_col]) else str(row[text_col]).strip()
        if not text:
            raise InvalidInputError(f"{where}: empty text")
        intent = ""
        if intent_col is not None:
            intent = "" if _missing(row[intent_col]) else str(row[intent_col]).strip()
            if not intent:
                raise InvalidInputError(f"{where}: empty intent for '{text}'")
        lang = default
        if has_lang and not _missing(row["lang"]) and str(row["lang"]).strip():
            lang = str(row["lang"]).strip()
            if lang not in languages:
                raise InvalidInputError(
                    f"{where}: lang {lang!r} is not one of the project's languages {languages}"
                )
        texts.append(text)
        intents.append(intent)
        langs.append(lang)
    return Examples(texts, intents, langs)


def read_faq_queries(path: str | Path, questions: list[str]) -> tuple[list[str], list[int]]:
    """FAQ test queries: columns ``text`` and ``question`` (the FAQ question it should find);
    returns the texts and the index of their question in ``questions``."""
    path = Path(path)
    frame = read_table(path, detect_format(path))
    text_col = column(frame, "text", path)
    question_col = column(frame, "question", path)
    index = {q: i for i, q in enumerate(questions)}
    texts, targets = [], []
    for i, row in enumerate(frame.to_dict("records")):
        question = str(row[question_col]).strip()
        if question not in index:
            raise InvalidInputError(
                f"{path}: row {i + 1}: question {question!r} is not in the FAQ"
                f"{did_you_mean(question, questions)}"
            )
        texts.append(str(row[text_col]).strip())
        targets.append(index[question])
    return texts, targets


__all__ = ["Examples", "read_examples", "read_faq_queries"]
