"""The dialogue policy: what the assistant does with one customer message.

The rules, in the order they are checked (every threshold is a named ``policy.*`` value of the
project, see :class:`launchml.assistant.project.PolicySection`):

1. The conversation was handed to a person: stay silent until an agent gives it back.
2. The customer asks for a person (a ``human_phrases`` phrase in any of the project's
   languages): hand off.
3. The customer picks one of the options of our last "did you mean A or B?" (by its number,
   its title, or a message whose top intent is one of them): answer it.
4. An FAQ question is at least ``faq_min_similarity`` similar to the message and closer to it
   than any intent example: answer with that FAQ entry.
5. The out-of-scope score is below this language's threshold: we do not know this; hand off.
6. The top two intents are within ``clarify_margin`` of each other: ask "A or B?" - unless
   that makes ``max_failed_turns`` unresolved turns in a row, then hand off.
7. The top intent is one of ``handoff_intents`` ("I want to talk to someone"): hand off.
8. Otherwise answer with the top intent's response.

:func:`decide` is a pure function of what the models made of the message
(:class:`Understanding`) and the conversation's state; the :class:`Decision` carries the reason
and every score it was based on, and is stored with the message.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Literal

from launchml.assistant.faq import FaqMatch
from launchml.assistant.project import PolicySection

Kind = Literal["answer", "faq", "clarify", "handoff"]


@dataclass(frozen=True)
class Candidate:
    intent: str
    confidence: float  # calibrated probability


@dataclass(frozen=True)
class Understanding:
    """What the models say about one message."""

    text: str
    language: str
    candidates: list[Candidate]  # best first
    in_scope: float  # the out-of-scope detector's score: higher = more like what we know
    threshold: float  # this language's out-of-scope threshold
    nearest_intent: float  # cosine similarity of the nearest intent example
    faq: FaqMatch | None = None

    @property
    def margin(self) -> float:
        """Calibrated top-1 minus top-2 probability (1.0 with a single candidate)."""
        if len(self.candidates) < 2:
            return 1.0
        return self.candidates[0].confidence - self.candidates[1].confidence


@dataclass(frozen=True)
class State:
    """What the policy needs to know about the conversation so far."""

    handed_off: bool = False
    failed_turns: int = 0  # unresolved turns in a row (clarifications)
    options: tuple[str, ...] = ()  # the intents our last "did you mean" offered


@dataclass(frozen=True)
class Decision:
    kind: Kind
    reason: str
    intent: str | None = None
    options: tuple[str, ...] = ()
    faq: FaqMatch | None = None
    failed_turns: int = 0  # the conversation's count after this turn
    silent: bool = False  # handed off already: no reply at all
    scores: dict[str, Any] = field(default_factory=dict)


def decide(
    u: Understanding,
    state: State,
    rules: PolicySection,
    titles: dict[str, list[str]] | None = None,
) -> Decision:
    """The decision for message ``u`` in a conversation in ``state`` (see the module rules).

    ``titles`` maps an intent to the names the customer may use to pick it after a clarifying
    question (its titles in every language).
    """
    scores = _scores(u, rules)
    top = u.candidates[0].intent if u.candidates else None

    def made(kind: Kind, reason: str, **kw: Any) -> Decision:
        failed = state.failed_turns + 1 if kind == "clarify" else 0
        return Decision(kind, reason, failed_turns=failed, scores=scores, **kw)

    if state.handed_off:
        return Decision(
            "handoff", "waiting_for_agent", silent=True, failed_turns=state.failed_turns,
            scores=scores,
        )  # fmt: skip
    if asks_for_person(u.text, rules.human_phrases):
        return made("handoff", "asked_for_person")
    picked = chosen_option(u.text, state.options, titles or {}, top)
    if picked is not None:
        return made("answer", "option_chosen", intent=picked)
    if (
        u.faq is not None
        and u.faq.similarity >= rules.faq_min_similarity
        and u.faq.similarity > u.nearest_intent
    ):
        return made("faq", "faq_match", faq=u.faq)
    if top is None or u.in_scope < u.threshold:
        return made("handoff", "out_of_scope")
    if u.margin < rules.clarify_margin:
        if state.failed_turns + 1 >= rules.max_failed_turns:
            return made("handoff", "failed_turns")
        options = tuple(c.intent for c in u.candidates[:2])
        return made("clarify", "close_call", options=options)
    if top in rules.handoff_intents:
        return made("handoff", "handoff_intent", intent=top)
    return made("answer", "confident", intent=top)


def _scores(u: Understanding, rules: PolicySection) -> dict[str, Any]:
    return {
        "language": u.language,
        "candidates": [
            {"intent": c.intent, "confidence": round(c.confidence, 4)} for c in u.candidates
        ],
        "in_scope": round(u.in_scope, 4),
        "threshold": round(u.threshold, 4),
        "margin": round(u.margin, 4),
        "clarify_margin": rules.clarify_margin,
        "nearest_intent": round(u.nearest_intent, 4),
        "faq": u.faq.to_json() if u.faq else None,
        "faq_min_similarity": rules.faq_min_similarity,
    }  # fmt: skip


def normalise(text: str) -> str:
    """Case-folded, accents kept, punctuation dropped, single spaces: for phrase matching."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def asks_for_person(text: str, phrases: dict[str, list[str]]) -> bool:
    """Whether ``text`` contains one of the phrases (of any language) as whole words."""
    words = f" {normalise(text)} "
    return any(f" {normalise(p)} " in words for ps in phrases.values() for p in ps if normalise(p))


def chosen_option(
    text: str, options: tuple[str, ...], titles: dict[str, list[str]], top: str | None
) -> str | None:
    """The offered option the customer picked, or None.

    "1"/"2" (or "the first"/"the second" style words are not guessed), an option's title or
    intent name (close spellings count), or a message classified as one of the options.
    """
    if not options:
        return None
    said = normalise(text)
    if said.isdigit() and 1 <= int(said) <= len(options):
        return options[int(said) - 1]
    for option in options:
        names = [normalise(n) for n in [option.replace("_", " "), *titles.get(option, [])]]
        if difflib.get_close_matches(said, names, n=1, cutoff=0.8):
            return option
    return top if top in options else None


__all__ = [
    "Candidate",
    "Decision",
    "State",
    "Understanding",
    "asks_for_person",
    "chosen_option",
    "decide",
]
