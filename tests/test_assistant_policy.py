"""The dialogue policy, branch by branch, on hand-made understandings (no models)."""

from __future__ import annotations

from launchml.assistant.faq import FaqEntry, FaqMatch
from launchml.assistant.policy import (
    Candidate,
    State,
    Understanding,
    asks_for_person,
    chosen_option,
    decide,
)
from launchml.assistant.project import PolicySection

RULES = PolicySection(
    clarify_margin=0.2,
    max_failed_turns=2,
    faq_min_similarity=0.75,
    handoff_intents=["contact_human"],
    human_phrases={"en": ["real person", "talk to a human"], "de": ["mit einem Menschen"]},
)
TITLES = {"refund": ["a refund", "eine Rückerstattung"], "return_item": ["returning an item"]}
FAQ = FaqMatch(FaqEntry(3, "Do you ship abroad?", "Yes, to the EU.", "en"), 0.9)


def understanding(
    text: str = "where is my order",
    top: tuple[str, float] = ("order_status", 0.9),
    second: tuple[str, float] = ("refund", 0.05),
    in_scope: float = 1.0,
    threshold: float = 0.0,
    nearest: float = 0.8,
    faq: FaqMatch | None = None,
) -> Understanding:
    return Understanding(
        text=text,
        language="en",
        candidates=[Candidate(*top), Candidate(*second)],
        in_scope=in_scope,
        threshold=threshold,
        nearest_intent=nearest,
        faq=faq,
    )


def test_confident_answers_with_the_top_intent() -> None:
    d = decide(understanding(), State(), RULES)
    assert (d.kind, d.reason, d.intent, d.failed_turns, d.silent) == (
        "answer", "confident", "order_status", 0, False,
    )  # fmt: skip
    assert d.scores["candidates"][0] == {"intent": "order_status", "confidence": 0.9}
    assert d.scores["margin"] == 0.85 and d.scores["clarify_margin"] == 0.2


def test_handed_off_conversation_stays_silent_whatever_is_said() -> None:
    for text in ("where is my order", "talk to a human", "hello?"):
        d = decide(understanding(text), State(handed_off=True, failed_turns=1), RULES)
        assert (d.kind, d.reason, d.silent, d.failed_turns) == (
            "handoff", "waiting_for_agent", True, 1,
        )  # fmt: skip


def test_asking_for_a_person_in_any_language_hands_off() -> None:
    for text in ("I want a REAL person!", "kann ich mit einem Menschen sprechen"):
        d = decide(understanding(text), State(), RULES)
        assert (d.kind, d.reason) == ("handoff", "asked_for_person")
    assert not asks_for_person("a really personal question", RULES.human_phrases)


def test_close_top_two_ask_which_one() -> None:
    u = understanding("money back", ("refund", 0.45), ("return_item", 0.35))
    d = decide(u, State(), RULES)
    assert (d.kind, d.reason, d.options, d.failed_turns) == (
        "clarify", "close_call", ("refund", "return_item"), 1,
    )  # fmt: skip


def test_too_many_failed_turns_hand_off() -> None:
    u = understanding("money back", ("refund", 0.45), ("return_item", 0.35))
    d = decide(u, State(failed_turns=1), RULES)
    assert (d.kind, d.reason) == ("handoff", "failed_turns")


def test_the_customer_picks_an_offered_option() -> None:
    state = State(failed_turns=1, options=("refund", "return_item"))
    for text in ("2", "returning an item", "return item"):
        d = decide(understanding(text, ("order_status", 0.4), ("x", 0.3)), state, RULES, TITLES)
        assert (d.kind, d.reason, d.intent, d.failed_turns) == (
            "answer", "option_chosen", "return_item", 0,
        )  # fmt: skip
    # a message classified as one of the options picks it too, even if the call is close
    u = understanding("the refund please", ("refund", 0.5), ("return_item", 0.4))
    assert decide(u, state, RULES, TITLES).intent == "refund"
    assert chosen_option("3", ("refund", "return_item"), TITLES, None) is None


def test_faq_answers_when_similar_enough_and_closer_than_any_intent_example() -> None:
    d = decide(understanding(faq=FAQ, nearest=0.6, in_scope=-5.0), State(), RULES)
    assert (d.kind, d.reason, d.faq) == ("faq", "faq_match", FAQ)
    # an intent example nearer than the FAQ question: the intent path decides
    assert decide(understanding(faq=FAQ, nearest=0.95), State(), RULES).kind == "answer"
    weak = FaqMatch(FAQ.entry, 0.7)
    assert decide(understanding(faq=weak, nearest=0.5), State(), RULES).kind == "answer"


def test_out_of_scope_hands_off() -> None:
    d = decide(understanding(in_scope=-1.2, threshold=-1.0), State(failed_turns=1), RULES)
    assert (d.kind, d.reason, d.failed_turns) == ("handoff", "out_of_scope", 0)
    assert d.scores["in_scope"] == -1.2 and d.scores["threshold"] == -1.0


def test_handoff_intent_hands_off() -> None:
    d = decide(understanding("can i phone someone", ("contact_human", 0.8)), State(), RULES)
    assert (d.kind, d.reason, d.intent) == ("handoff", "handoff_intent", "contact_human")


def test_a_single_candidate_has_full_margin() -> None:
    u = Understanding("x", "en", [Candidate("only", 0.6)], 1.0, 0.0, 0.5)
    assert u.margin == 1.0
    assert decide(u, State(), RULES).kind == "answer"
