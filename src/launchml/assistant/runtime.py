"""A trained assistant, loaded: one customer message in, a recorded decision and reply out.

Per turn: redact the message (nothing unredacted goes further), identify its language, encode it
once, and reuse that vector for the intent classifier's head, the out-of-scope score and the FAQ
search; then the policy decides, and the message, the decision with its scores and the reply are
stored in one transaction.

Example::

    assistant = Assistant.load("runs/shop-assistant", store_url="sqlite:///chat.db")
    reply = assistant.reply("c1", "where is my parcel?")
    reply.kind, reply.text        # ('answer', 'You can follow your parcel ...')
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from safetensors.numpy import load_file

from launchml.assistant.calibrate import softmax_t
from launchml.assistant.encoder import SentenceEncoder
from launchml.assistant.faq import FaqIndex, FaqMatch
from launchml.assistant.intents import IntentModel
from launchml.assistant.language import Detected, LanguageIdentifier
from launchml.assistant.oos import OOSScorer, knn_similarity, nearest_similarity
from launchml.assistant.policy import Candidate, Decision, State, Understanding, decide
from launchml.assistant.project import Project, validate_project
from launchml.assistant.store import Store, new_conversation_id
from launchml.errors import DamagedArtifactError, InvalidInputError, NotFoundError
from launchml.manifest import verify_manifest
from launchml.pii import Redactor
from launchml.runs import Run

CANDIDATES = 3


@dataclass
class Reply:
    """What the customer gets back for one message, and why."""

    conversation_id: str
    message_id: int
    kind: str
    text: str | None
    intent: str | None
    confidence: float | None
    language: str
    candidates: list[dict[str, Any]]
    reason: str
    handed_off: bool
    faq: dict[str, Any] | None = None
    options: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "message_id": self.message_id,
            "reply": self.text,
            "kind": self.kind,
            "reason": self.reason,
            "intent": self.intent,
            "confidence": self.confidence,
            "language": self.language,
            "candidates": self.candidates,
            "options": self.options,
            "faq": self.faq,
            "handed_off": self.handed_off,
        }


class Assistant:
    """The loaded assistant run (see :mod:`launchml.assistant.train` for its layout)."""

    def __init__(self, path: Path, store_url: str | None = None) -> None:
        self.path = path
        raw = yaml.safe_load((path / "assistant.yaml").read_text(encoding="utf-8"))
        self.project: Project = validate_project(raw, str(path / "assistant.yaml"))
        self.state = json.loads((path / "assistant.json").read_text(encoding="utf-8"))
        self.evaluation = json.loads((path / "evaluation.json").read_text(encoding="utf-8"))
        run = Run.load(path / "intent")
        if self.state["shares_encoder"]:  # the classifier's own encoder, loaded once
            self.encoder = SentenceEncoder.of_run(run, path / "intent" / "encoder")
        else:
            self.encoder = SentenceEncoder.load(str(path / "encoder"))
        self.intents = IntentModel.over(run, self.encoder)
        if self.intents.shares_encoder != self.state["shares_encoder"]:
            raise DamagedArtifactError(f"{path}: the encoder does not match the intent classifier")
        index = load_file(str(path / "index.safetensors"))
        self.reference = index["intent_vectors"]
        faq_rows = json.loads((path / "faq.json").read_text(encoding="utf-8"))
        self.faq = FaqIndex(FaqIndex.entries_from_json(faq_rows), index["faq_vectors"])
        self.scorer = OOSScorer.from_json(self.state["oos"])
        project = self.project
        self.languages = LanguageIdentifier(
            project.languages, project.lang, project.language.min_confidence,
            project.language.min_letters,
        )  # fmt: skip
        self.redactor = Redactor(project.pii)
        self.titles = {intent: list(by_lang.values()) for intent, by_lang in project.titles.items()}
        self.store_url = store_url or project.store.url
        self._store: Store | None = None
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    @classmethod
    def load(cls, path: str | Path, store_url: str | None = None) -> Assistant:
        """Load an assistant run; ``store_url`` overrides the project's ``store.url``."""
        path = Path(path)
        if not (path / "assistant.json").is_file():
            raise NotFoundError(f"{path}: not an assistant run (no assistant.json)")
        problems = verify_manifest(path)
        if problems:
            raise DamagedArtifactError(f"{path}: changed since it was trained ({problems[0]})")
        return cls(path, store_url)

    @property
    def name(self) -> str:
        return self.project.name

    @property
    def store(self) -> Store:
        """The conversation store, opened on first use (loading alone touches no database)."""
        if self._store is None:
            self._store = Store(self.store_url)
        return self._store

    # -- understanding one message (no state, nothing stored) ---------------------------------

    def understand(self, text: str, language: Detected) -> Understanding:
        """What the models make of one (redacted) message in ``language``."""
        cleaned = self.intents.clean([text])
        vector = self.encoder.encode(cleaned)
        return self.understand_encoded(text, cleaned, vector, language.language)

    def understand_encoded(
        self, text: str, cleaned: list[str], vector: np.ndarray, language: str
    ) -> Understanding:
        logits = self.intents.logits(cleaned, vector)
        proba = softmax_t(logits, self.state["temperature"])[0]
        features = {
            "probability": proba.max(keepdims=True),
            "knn": knn_similarity(vector, self.reference, self.state["k"]),
        }
        in_scope = float(self.scorer.score(features)[0])
        order = np.argsort(-proba, kind="stable")[:CANDIDATES]
        labels = self.intents.labels
        candidates = [Candidate(labels[i], float(proba[i])) for i in order]
        matches = self.faq.search(vector[0], language, k=1)
        thresholds = self.state["thresholds"]
        return Understanding(
            text=text,
            language=language,
            candidates=candidates,
            in_scope=in_scope,
            threshold=float(thresholds.get(language, thresholds["*"])["threshold"]),
            nearest_intent=float(nearest_similarity(vector, self.reference)[0]),
            faq=matches[0] if matches else None,
        )

    def score(self, texts: list[str], language: str | None = None) -> dict[str, np.ndarray]:
        """Batch figures for many messages (benchmarks, evaluation): ``proba`` (calibrated,
        in ``labels`` order), ``in_scope`` and the ``threshold`` of ``language`` (default: the
        project's)."""
        cleaned = self.intents.clean(texts)
        vectors = self.encoder.encode(cleaned)
        proba = softmax_t(self.intents.logits(cleaned, vectors), self.state["temperature"])
        features = {
            "probability": proba.max(axis=1),
            "knn": knn_similarity(vectors, self.reference, self.state["k"]),
        }
        thresholds = self.state["thresholds"]
        chosen = thresholds.get(language or self.project.lang, thresholds["*"])
        return {
            "proba": proba,
            "in_scope": self.scorer.score(features),
            "threshold": np.full(len(texts), chosen["threshold"]),
            "vectors": vectors,
        }

    def reply_text(self, decision: Decision, language: str) -> str | None:
        """The words of a decision in ``language`` (None when the bot stays silent)."""
        project = self.project
        if decision.silent:
            return None
        if decision.kind == "handoff":
            return project.message("handoff", language)
        if decision.kind == "faq":
            assert decision.faq is not None
            return decision.faq.entry.answer
        if decision.kind == "clarify":
            names = [self.title(option, language) for option in decision.options]
            joined = f" {project.message('or', language)} ".join(names)
            return project.message("clarify", language).format(options=joined)
        assert decision.intent is not None
        texts = project.responses.get(decision.intent, {})
        text = texts.get(language) or texts.get(project.lang)
        return text or project.message("no_response", language).format(intent=decision.intent)

    def title(self, intent: str, language: str) -> str:
        titles = self.project.titles.get(intent, {})
        return titles.get(language) or titles.get(self.project.lang) or intent.replace("_", " ")

    # -- one turn of a conversation -----------------------------------------------------------

    def reply(
        self, conversation_id: str | None, message: str, language: str | None = None
    ) -> Reply:
        """Answer one customer message and record it; a new conversation when the id is None."""
        if not message.strip():
            raise InvalidInputError("message: empty; send the customer's text")
        conversation_id = conversation_id or new_conversation_id()
        findings = self.redactor.find(message)
        text = self.redactor.redact(message)
        del message  # from here on only the redacted text exists
        with self._lock(conversation_id):
            # the models run outside the write transaction, which stays a few ms long (SQLite
            # has one writer at a time); the state is read again inside it
            known_language = self.store.language_of(conversation_id)
            detected = self.languages.identify(text, known_language, language)
            understanding = self.understand(text, detected)
            return self._record(conversation_id, text, findings, detected, understanding)

    def _record(
        self,
        conversation_id: str,
        text: str,
        findings: list[Any],
        detected: Detected,
        understanding: Understanding,
    ) -> Reply:
        """Decide on the conversation's current state and store the turn (one transaction)."""
        with self.store.turn(conversation_id) as turn:
            conversation = turn.conversation
            if detected.source in ("request", "detected") or conversation.language is None:
                conversation.language = detected.language
            lang = detected.language
            state = State(
                handed_off=conversation.state == "handoff",
                failed_turns=conversation.failed_turns,
                options=tuple(conversation.options or ()),
            )
            decision = decide(understanding, state, self.project.policy, self.titles)
            words = self.reply_text(decision, lang)
            customer = turn.add_message(
                "customer", text, lang, redacted=sorted({f.kind for f in findings})
            )
            bot = turn.add_message("bot", words, lang) if words is not None else None
            top = understanding.candidates[0] if understanding.candidates else None
            turn.add_decision(
                customer,
                bot,
                kind=decision.kind,
                reason=decision.reason,
                intent=decision.intent,
                confidence=round(top.confidence, 4) if top else None,
                in_scope=round(understanding.in_scope, 4),
                threshold=round(understanding.threshold, 4),
                language=lang,
                language_source=detected.source,
                scores={**decision.scores, "language_confidence": detected.confidence},
            )
            if decision.kind == "handoff" and not decision.silent:
                turn.hand_off(decision.reason)
            conversation.failed_turns = decision.failed_turns
            conversation.options = list(decision.options)
            return Reply(
                conversation_id=conversation_id,
                message_id=customer.id,
                kind=decision.kind,
                text=words,
                intent=decision.intent,
                confidence=round(top.confidence, 4) if top else None,
                language=lang,
                candidates=decision.scores["candidates"],
                reason=decision.reason,
                handed_off=decision.kind == "handoff",
                faq=decision.faq.to_json() if decision.faq else None,
                options=list(decision.options),
            )

    def _lock(self, conversation_id: str) -> threading.Lock:
        """One turn at a time per conversation within this process (the database row lock
        does the same across processes on PostgreSQL)."""
        with self._locks_guard:
            return self._locks.setdefault(conversation_id, threading.Lock())

    # -- the agent's side (the inbox of a later issue builds on these) -------------------------

    def agent_reply(self, conversation_id: str, text: str, agent: str) -> int:
        """Record an agent's message (redacted); returns its message id."""
        return self.store.add_agent_reply(conversation_id, self.redactor.redact(text), agent)

    def give_back(self, conversation_id: str, agent: str) -> None:
        """The agent hands the conversation back: the bot answers it again."""
        self.store.give_back(conversation_id, agent)

    def conversation(self, conversation_id: str) -> dict[str, Any]:
        return self.store.conversation(conversation_id)

    def take_over(self, previous: Assistant) -> None:
        """Carry on ``previous``'s conversations (a reload, :mod:`launchml.assistant.admin_api`):
        share its open store and its per-conversation locks, so that a turn still running on
        it and a new turn here queue behind each other."""
        if previous.store_url == self.store_url and previous._store is not None:
            self._store = previous._store
        self._locks, self._locks_guard = previous._locks, previous._locks_guard

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


def faq_json(match: FaqMatch | None) -> dict[str, Any] | None:
    return match.to_json() if match else None


__all__ = ["Assistant", "Reply"]
