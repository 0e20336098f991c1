"""Language identification per message, with the fallbacks for short or unclear messages."""

from __future__ import annotations

import pytest

from launchml.assistant.language import Detected, LanguageIdentifier
from launchml.errors import InvalidInputError


@pytest.fixture(scope="module")
def identifier() -> LanguageIdentifier:
    return LanguageIdentifier(["en", "de"], default="en", min_confidence=0.7, min_letters=8)


def test_clear_sentences_are_detected(identifier: LanguageIdentifier) -> None:
    german = identifier.identify("Mein Passwort funktioniert nicht mehr")
    assert (german.language, german.source) == ("de", "detected")
    assert german.confidence is not None and german.confidence > 0.9
    english = identifier.identify("I would like to change my delivery address")
    assert (english.language, english.source) == ("en", "detected")


def test_short_messages_keep_the_conversations_language(identifier: LanguageIdentifier) -> None:
    assert identifier.identify("danke", conversation="de") == Detected("de", None, "conversation")
    assert identifier.identify("ok", conversation="de") == Detected("de", None, "conversation")
    assert identifier.identify("danke") == Detected("en", None, "default")
    assert identifier.identify("#48213", conversation="fr") == Detected("en", None, "default")


def test_a_stated_language_wins_and_must_be_known(identifier: LanguageIdentifier) -> None:
    assert identifier.identify("where is my parcel", stated="de") == Detected("de", None, "request")
    with pytest.raises(InvalidInputError, match="'fr' is not one of"):
        identifier.identify("bonjour", stated="fr")


def test_unsure_detection_falls_back() -> None:
    strict = LanguageIdentifier(["en", "de"], default="de", min_confidence=0.999, min_letters=0)
    assert strict.identify("refund please", conversation="en").source == "conversation"
    single = LanguageIdentifier(["en"], default="en")
    assert single.identify("Wo ist mein Paket?") == Detected("en", None, "default")
