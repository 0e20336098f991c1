"""The assistant project: one YAML file that says what the assistant knows and how it behaves.

Keys mirror the classes below; unknown keys and wrong types are errors with the key's path and a
"did you mean" suggestion, as in the run config (:mod:`launchml.config`). Paths are relative to
the YAML file. Every threshold the dialogue policy uses is a named value here (``policy.*``).

Example (``launchml assistant init DIR`` writes a complete one)::

    languages: [en, de]
    data: {intents: intents.csv, faq: faq.csv}
    responses:
      order_status: {en: "You can follow your parcel ...", de: "Ihre Sendung ..."}
    policy: {in_scope_handoff: 0.05, clarify_margin: 0.15, max_failed_turns: 2}

    project = load_project("assistant.yaml")
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from launchml.config import ModelConfig, TrainConfig, _describe, _fields_at
from launchml.errors import InvalidConfigError, NotFoundError
from launchml.pii import PIIConfig

PROJECT_FILE = "assistant.yaml"
LANGUAGE_CODE = r"^[a-z]{2}$"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DataSection(_Section):
    """Where the examples are (CSV, TSV, JSONL or Parquet)."""

    intents: str = Field(description="columns text, intent and optionally lang")
    intents_test: str | None = Field(
        None, description="held-out examples for the report (text, intent, optionally lang)"
    )
    faq: str | None = Field(None, description="columns question, answer and optionally lang")
    faq_test: str | None = Field(
        None, description="messages and the FAQ question each should find (text, question)"
    )
    out_of_scope: str | None = Field(
        None, description="real out-of-scope messages (text, optionally lang), if you have some"
    )
    val: float = Field(
        0.2, gt=0.0, lt=1.0, description="share of intent examples kept for calibration"
    )
    intents_val: str | None = Field(
        None,
        description="fixed calibration examples (text, intent, optionally lang) instead of a "
        "data.val share of data.intents (retrain uses it to keep the old run's split)",
    )
    seed: int = 0


class ClassifierSection(_Section):
    """The intent classifier: the ``model`` and ``train`` sections of a launchml run config.

    Any text model type works; a ``transformer`` uses the project's ``encoder`` unless its own
    ``pretrained`` is set. Left out, the type is the frozen-encoder ``transformer``, and every
    key the section leaves out takes that type's measured recipe (``launchml.recipes``, as in a
    run config): for the default, mean pooling and a linear head at lr 1e-2 for 40 epochs.
    """

    model: ModelConfig = ModelConfig(type="transformer")
    train: TrainConfig = TrainConfig()

    @model_validator(mode="before")
    @classmethod
    def _recipe_fills_unset_keys(cls, raw: Any, info: ValidationInfo) -> Any:
        from launchml.recipes import with_recipe

        # on assignment pydantic names the field assigned (nested: the parent's field name)
        if info.field_name in cls.model_fields or not isinstance(raw, dict):
            return raw
        model = raw.get("model", {})
        model = model.model_dump(exclude_unset=True) if isinstance(model, BaseModel) else model
        if isinstance(model, dict) and "type" not in model:
            model = {**model, "type": "transformer"}  # the fast frozen-encoder path
        return with_recipe({**raw, "model": model})


class OutOfScopeSection(_Section):
    """How "this is not something I know" is scored (see ``assistant/oos.py``)."""

    score: Literal["combined", "probability", "knn"] = Field(
        "combined",
        description="combined: calibrated probability and nearest-example similarity, weighted "
        "on simulated unknown intents; probability: top calibrated probability only; knn: "
        "similarity to the nearest training examples only",
    )
    k: int = Field(5, ge=1, description="neighbours averaged for the similarity score")
    simulated_share: float = Field(
        0.25, gt=0.0, lt=1.0, description="share of intents hidden per simulation round"
    )
    simulated_rounds: int = Field(
        2, ge=0, description="rounds of hidden intents (0: fixed weights, no simulation)"
    )
    min_language_examples: int = Field(
        30, ge=1, description="validation examples a language needs for its own threshold"
    )


class PolicySection(_Section):
    """The named values of the dialogue policy (``assistant/policy.py``)."""

    in_scope_handoff: float = Field(
        0.05,
        gt=0.0,
        lt=1.0,
        description="target: at most this share of in-scope messages handed off as not "
        "understood (sets the out-of-scope threshold on validation data)",
    )
    clarify_margin: float = Field(
        0.2, ge=0.0, le=1.0, description="ask 'A or B?' when top-1 minus top-2 is below this"
    )
    max_failed_turns: int = Field(
        2, ge=1, description="hand off after this many unresolved turns in a row"
    )
    faq_min_similarity: float = Field(
        0.75, ge=-1.0, le=1.0, description="cosine similarity an FAQ question needs to answer"
    )
    handoff_intents: list[str] = Field(
        default_factory=list, description="intents that mean 'let me talk to a person'"
    )
    human_phrases: dict[str, list[str]] = Field(
        default_factory=dict,
        description="per language: phrases that ask for a person (matched case-insensitively)",
    )


class LanguageSection(_Section):
    """Language identification per message (``lingua``, restricted to ``languages``)."""

    min_confidence: float = Field(
        0.7, ge=0.0, le=1.0, description="below this, keep the conversation's language"
    )
    min_letters: int = Field(
        8, ge=0, description="shorter messages ('danke', 'ok') keep the conversation's language"
    )


class StoreSection(_Section):
    url: str = Field(
        "sqlite:///conversations.db",
        description="SQLAlchemy URL: sqlite:///FILE (relative to the working directory) or "
        "postgresql+psycopg://user@host/db",
    )


class Project(_Section):
    """The root of an assistant project file."""

    name: str = "assistant"
    languages: list[str] = Field(default_factory=lambda: ["en"], min_length=1)
    default_language: str | None = Field(None, description="default: the first of languages")
    encoder: str = Field("minilm", description="'minilm', 'mpnet' or a Hugging Face model dir")
    data: DataSection
    classifier: ClassifierSection = Field(default_factory=ClassifierSection)
    responses: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="intent -> language -> the reply"
    )
    titles: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="intent -> language -> how 'did you mean' names it (default: the intent)",
    )
    messages: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="the bot's own lines per language (see MESSAGES)"
    )
    policy: PolicySection = Field(default_factory=PolicySection)
    out_of_scope: OutOfScopeSection = Field(default_factory=OutOfScopeSection)
    language: LanguageSection = Field(default_factory=LanguageSection)
    pii: PIIConfig = Field(default_factory=PIIConfig)
    store: StoreSection = Field(default_factory=StoreSection)

    @field_validator("languages")
    @classmethod
    def _codes(cls, languages: list[str]) -> list[str]:
        from launchml.assistant.language import SUPPORTED

        for code in languages:
            if code not in SUPPORTED:
                raise ValueError(
                    f"unknown language {code!r}; use ISO 639-1 codes such as 'en', 'de', 'fr'"
                )
        return languages

    @model_validator(mode="after")
    def _consistent(self) -> Project:
        if self.default_language is None:
            self.default_language = self.languages[0]
        if self.default_language not in self.languages:
            raise ValueError(
                f"default_language {self.default_language!r} is not one of languages "
                f"{self.languages}"
            )
        for where, table in (("responses", self.responses), ("titles", self.titles)):
            for intent, texts in table.items():
                _check_languages(f"{where}.{intent}", texts, self.languages)
        for key, texts in self.messages.items():
            if key not in MESSAGES:
                raise ValueError(f"messages.{key}: unknown message; known: {', '.join(MESSAGES)}")
            _check_languages(f"messages.{key}", texts, self.languages)
        _check_languages("policy.human_phrases", self.policy.human_phrases, self.languages)
        return self

    @property
    def lang(self) -> str:
        """The default language (always set after validation)."""
        return self.default_language or self.languages[0]

    def message(self, key: str, language: str) -> str:
        """One of the bot's own lines in ``language`` (else the default language, else English)."""
        texts = {**MESSAGES[key], **self.messages.get(key, {})}
        return texts.get(language) or texts.get(self.lang) or MESSAGES[key]["en"]

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False, allow_unicode=True)


def _check_languages(where: str, texts: dict[str, Any], languages: list[str]) -> None:
    for code in texts:
        if code not in languages:
            raise ValueError(f"{where}.{code}: {code!r} is not one of languages {languages}")


# The bot's own lines; a project overrides any of them per language under ``messages``.
MESSAGES: dict[str, dict[str, str]] = {
    "clarify": {
        "en": "Did you mean {options}?",
        "de": "Meinten Sie {options}?",
        "fr": "Vouliez-vous dire {options} ?",
        "es": "¿Quiso decir {options}?",
    },
    "or": {"en": "or", "de": "oder", "fr": "ou", "es": "o"},
    "handoff": {
        "en": "I'm passing you to a colleague who will reply here shortly.",
        "de": "Ich verbinde Sie mit einer Kollegin oder einem Kollegen, die hier gleich antworten.",
        "fr": "Je vous passe à un collègue qui vous répondra ici sous peu.",
        "es": "Le paso con un compañero que le responderá aquí en breve.",
    },
    "no_response": {
        "en": "I understood '{intent}', but I have no answer for it yet.",
        "de": "Ich habe '{intent}' verstanden, habe dafür aber noch keine Antwort.",
    },
    # the chat widget's first line and its note when a person takes the conversation
    "greeting": {
        "en": "Hi! Ask me anything about your order.",
        "de": "Hallo! Fragen Sie mich alles zu Ihrer Bestellung.",
        "fr": "Bonjour ! Posez-moi vos questions sur votre commande.",
        "es": "¡Hola! Pregúnteme lo que quiera sobre su pedido.",
    },
    "agent_joined": {
        "en": "{agent} joined the conversation.",
        "de": "{agent} ist dem Gespräch beigetreten.",
        "fr": "{agent} a rejoint la conversation.",
        "es": "{agent} se ha unido a la conversación.",
    },
}


def load_project(path: str | Path, overrides: list[str] | None = None) -> Project:
    """Read and validate a project file; data paths become absolute (relative to the file).

    ``path`` may be the YAML file or a directory holding ``assistant.yaml``.
    """
    from launchml.config import apply_override

    path = Path(path)
    if path.is_dir():
        path = path / PROJECT_FILE
    if not path.is_file():
        raise NotFoundError(f"{path}: assistant project file not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise InvalidConfigError(f"{path}: not valid YAML ({first})") from None
    if not isinstance(raw, dict):
        raise InvalidConfigError(f"{path}: expected a mapping of keys (languages:, data:, ...)")
    for item in overrides or []:
        apply_override(raw, item)
    project = validate_project(raw, str(path))
    base = path.resolve().parent
    for name in ("intents", "intents_val", "intents_test", "faq", "faq_test", "out_of_scope"):
        value = getattr(project.data, name)
        if value is not None:
            full = Path(value).expanduser()
            setattr(
                project.data, name, os.path.abspath(full if full.is_absolute() else base / full)
            )
    return project


def validate_project(raw: dict[str, Any], origin: str = "project") -> Project:
    try:
        return Project.model_validate(raw)
    except ValidationError as exc:
        raise InvalidConfigError(f"{origin}: {_describe_project(exc)}") from None


def _describe_project(exc: ValidationError) -> str:
    """The run config's one-line message, with did-you-mean over the project's own keys."""
    first = exc.errors()[0]
    loc = [str(p) for p in first["loc"]]
    if first["type"] == "extra_forbidden":
        from launchml.errors import did_you_mean

        allowed = _project_fields_at(loc[:-1])
        more = len(exc.errors()) - 1
        tail = f" (and {more} more problem{'s' * (more > 1)})" if more else ""
        return f"unknown key '{'.'.join(loc)}'{did_you_mean(loc[-1], allowed)}{tail}"
    return _describe(exc)


def _project_fields_at(loc: list[str]) -> list[str]:
    model: type[BaseModel] = Project
    for depth, part in enumerate(loc):
        field = model.model_fields.get(part)
        annotation = field.annotation if field else None
        if annotation is ModelConfig or annotation is TrainConfig:
            return _fields_at(
                ["model" if annotation is ModelConfig else "train", *loc[depth + 1 :]]
            )
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)


__all__ = ["MESSAGES", "PROJECT_FILE", "Project", "load_project", "validate_project"]
