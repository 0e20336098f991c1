"""PII redaction: a table of real-looking messages that must and must not be redacted."""

from __future__ import annotations

import pytest

from launchml.pii import PIIConfig, Redactor, iban_valid, luhn_valid

MUST = [
    # (message, the redacted message)
    ("mail me at jo.smith+shop@example.co.uk please", "mail me at [EMAIL] please"),
    ("MAX.MUSTERMANN@WEB.DE hat geschrieben", "[EMAIL] hat geschrieben"),
    ("call +44 20 7946 0958 after 5", "call [PHONE] after 5"),
    ("my number is (415) 555-2671", "my number is [PHONE]"),
    ("ruf mich an: 0151 23456789", "ruf mich an: [PHONE]"),
    ("Tel. +49 30 901820, danke", "Tel. [PHONE], danke"),
    ("my phone 07700 900123", "my phone [PHONE]"),
    ("card 4111 1111 1111 1111 was charged twice", "card [CARD] was charged twice"),
    ("use 5555-5555-5555-4444 instead", "use [CARD] instead"),
    ("amex 378282246310005 expired", "amex [CARD] expired"),
    ("IBAN DE89 3704 0044 0532 0130 00 please refund", "IBAN [IBAN] please refund"),
    ("iban: GB82WEST12345698765432", "iban: [IBAN]"),
    ("my account fr1420041010050500013m02606 ok", "my account [IBAN] ok"),
    (
        "I'm anna@shop.io, card 4012888888881881, phone +1 415 555 2671",
        "I'm [EMAIL], card [CARD], phone [PHONE]",
    ),
]

MUST_NOT = [
    "order #48213 has not arrived",
    "Bestellung 55120 ist noch nicht da",
    "order 1234567890123 is late",  # 13 digits, fails the Luhn check
    "card 4111-1111-1111-1112 is wrong",  # one digit off: not a valid card number
    "iban DE89 3704 0044 0532 0130 01",  # wrong check digits
    "I paid $1,299.00 on 2024-03-12",
    "ordered 3 items for 25.99 each on 12/03/2024",
    "postcode 10115 Berlin",
    "tracking 1Z999AA10123456784",
    "size 42, colour DE12 blue",
    "version 2.14.3 of the app crashes",
    "room 101, floor 3",
    "write to support at our site",
]


@pytest.mark.parametrize(("message", "expected"), MUST)
def test_personal_data_is_redacted(message: str, expected: str) -> None:
    assert Redactor().redact(message) == expected


@pytest.mark.parametrize("message", MUST_NOT)
def test_ordinary_numbers_and_words_stay(message: str) -> None:
    assert Redactor().redact(message) == message
    assert Redactor().find(message) == []


def test_checksums() -> None:
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert luhn_valid("79927398713")  # the textbook example
    assert iban_valid("DE89 3704 0044 0532 0130 00")
    assert iban_valid("NL91ABNA0417164300")
    assert not iban_valid("NL91ABNA0417164301")
    assert not iban_valid("DE89")


def test_own_patterns_take_precedence_and_kinds_can_be_switched_off() -> None:
    config = PIIConfig(patterns={"order_ref": r"#\d{5}"}, phones=False)
    redactor = Redactor(config)
    assert redactor.redact("order #48213, call 0151 23456789") == (
        "order [ORDER_REF], call 0151 23456789"
    )
    findings = redactor.find("order #48213")
    assert [(f.kind, f.start, f.end) for f in findings] == [("ORDER_REF", 6, 12)]


def test_bad_pii_config_is_rejected() -> None:
    with pytest.raises(ValueError, match="not a regular expression"):
        PIIConfig(patterns={"bad": "("})
    with pytest.raises(ValueError, match="unknown phone region"):
        PIIConfig(phone_regions=["XX"])
