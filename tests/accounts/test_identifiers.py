"""RPPS, FINESS, SIRET and INS validation: right keys pass, each wrong input says why."""

from __future__ import annotations

import pytest

from cordee.accounts import identifiers as ids


@pytest.mark.parametrize("rpps", ["10106476764", "10000000009", "101 0647 6764"])
def test_valid_rpps(rpps):
    assert ids.validate_rpps(rpps) == rpps.replace(" ", "")


@pytest.mark.parametrize(
    ("rpps", "code"),
    [
        ("10106476765", "key"),
        ("1010647676", "length"),
        ("101064767644", "length"),
        ("1010647676A", "chars"),
        ("", "chars"),
        ("１０１０６４７６７６４", "chars"),
    ],
)
def test_invalid_rpps(rpps, code):
    with pytest.raises(ids.IdentifierError) as caught:
        ids.validate_rpps(rpps)
    assert caught.value.code == code


def test_id_nat_ps_round_trip():
    assert ids.id_nat_ps("10106476764") == "810106476764"
    assert ids.rpps_from_id_nat_ps("810106476764") == "10106476764"
    for bad in ("010106476764", "81010647676", "810106476765"):
        with pytest.raises(ids.IdentifierError):
            ids.rpps_from_id_nat_ps(bad)


@pytest.mark.parametrize("finess", ["010789956", "750056335", "010000032"])
def test_valid_finess(finess):
    assert ids.validate_finess(finess) == finess


@pytest.mark.parametrize(("finess", "code"), [("010789957", "key"), ("01078995", "length"), ("01078995X", "chars")])
def test_invalid_finess(finess, code):
    with pytest.raises(ids.IdentifierError) as caught:
        ids.validate_finess(finess)
    assert caught.value.code == code


def test_corsican_finess_reads_letter_as_zero():
    # 2A000001 + Luhn key of "20000001"
    key = next(k for k in range(10) if ids.luhn_valid(f"20000001{k}"))
    assert ids.validate_finess(f"2A000001{key}") == f"2A000001{key}"


@pytest.mark.parametrize("siret", ["77554408300386", "49940088500020", "356 000 000 00048"])
def test_valid_siret(siret):
    assert ids.validate_siret(siret) == siret.replace(" ", "")


@pytest.mark.parametrize(
    ("siret", "code"), [("77554408300387", "key"), ("7755440830038", "length"), ("7755440830038A", "chars")]
)
def test_invalid_siret(siret, code):
    with pytest.raises(ids.IdentifierError) as caught:
        ids.validate_siret(siret)
    assert caught.value.code == code


def _with_key(first_13: str) -> str:
    return first_13 + f"{ids.ins_key(first_13):02d}"


def test_ins_key_formula():
    # 97 − (1850769112345 mod 97)
    assert ids.ins_key("1850769112345") == 97 - (1850769112345 % 97)
    assert ids.validate_ins(_with_key("1850769112345")) == _with_key("1850769112345")


def test_ins_corsica_2a_and_2b():
    two_a = "18507" + "2A" + "123456"
    two_b = "18507" + "2B" + "123456"
    assert ids.ins_key(two_a) == 97 - (int("18507" + "19" + "123456") % 97)
    assert ids.ins_key(two_b) == 97 - (int("18507" + "18" + "123456") % 97)
    assert ids.validate_ins(_with_key(two_a)).startswith("185072A")
    assert ids.validate_ins(_with_key(two_b)).startswith("185072B")


def test_ins_oid_nir_and_nia():
    assert ids.ins_oid(_with_key("1850769112345")) == "1.2.250.1.213.1.4.8"
    assert ids.ins_oid(_with_key("7850769112345")) == "1.2.250.1.213.1.4.9"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("185076911234500", "key"),  # wrong key
        ("18507691123456", "length"),
        ("5850769112345" + "00", "chars"),  # 5 is neither a NIR nor a NIA first digit
        ("18507691A234500", "chars"),
    ],
)
def test_invalid_ins(value, code):
    if code == "key":
        good = _with_key("1850769112345")
        value = good[:13] + f"{(int(good[13:]) % 97) + 1:02d}"
    with pytest.raises(ids.IdentifierError) as caught:
        ids.validate_ins(value)
    assert caught.value.code == code


def test_error_messages_are_french_by_default():
    from django.utils import translation

    with translation.override("fr"), pytest.raises(ids.IdentifierError) as caught:
        ids.validate_rpps("123")
    assert caught.value.messages  # a readable sentence, not a code


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ("0472000000", "04 72 00 00 00"),
        ("04.72.00.00.00", "04 72 00 00 00"),
        ("+33 6 12 34 56 78", "06 12 34 56 78"),
        ("0033 9 87 65 43 21", "09 87 65 43 21"),
        ("(04) 72-00-00-00", "04 72 00 00 00"),
    ],  # fmt: skip
)
def test_valid_french_phone_is_written_in_pairs(phone, expected):
    assert ids.validate_phone_fr(phone) == expected


@pytest.mark.parametrize("phone", ["", "047200000", "04720000000", "0072000000", "+44 20 7946 0958", "04 72 ab 00 00",
                                   "０４７２０００００"])  # fmt: skip
def test_invalid_french_phone(phone):
    with pytest.raises(ids.IdentifierError) as raised:
        ids.validate_phone_fr(phone)
    assert raised.value.code == "phone"


@pytest.mark.parametrize("postcode", ["69003", "20000", "97400", " 75001 "])
def test_valid_postcode(postcode):
    assert ids.validate_postcode(postcode) == postcode.strip()


@pytest.mark.parametrize("postcode", ["", "6900", "690031", "6900A", "00100", "６９００３"])
def test_invalid_postcode(postcode):
    with pytest.raises(ids.IdentifierError) as raised:
        ids.validate_postcode(postcode)
    assert raised.value.code == "postcode"
