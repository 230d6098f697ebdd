"""Folding, HTML cleaning, amounts and dates as the BDPM writes them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from cordee.drugs.text import clean_html, first_link, fold, parse_date, parse_decimal


def test_fold_ignores_case_accents_ligatures_and_punctuation():
    assert fold("PARACÉTAMOL") == fold("paracetamol") == "paracetamol"
    assert fold("Œstrogène/acide") == "oestrogene acide"
    assert fold("  DOLIPRANE 1000 mg, comprimé ") == "doliprane 1000 mg comprime"


def test_clean_html_keeps_text_turns_breaks_into_lines():
    assert clean_html("cas suivants :<br><br>- Asthme") == "cas suivants :\n\n- Asthme"
    assert clean_html("IMUKIN 2 x 10<sup>6</sup> UI") == "IMUKIN 2 x 10⁶ UI"
    assert clean_html("<p>5,45 mg") == "5,45 mg"
    assert clean_html("L&RSQUO;ARYLSULFATASE") == "L’ARYLSULFATASE"  # upper-case entity, as ANSM writes it
    assert clean_html("&lt;script&gt;") == "<script>"  # decoded to text: the template escapes it


def test_a_bare_less_than_is_not_a_tag():
    text = "patients < 20 kg, en cas d'inefficacité<br>suite"
    assert clean_html(text) == "patients < 20 kg, en cas d'inefficacité\nsuite"
    assert clean_html("(p <0,0001) en faveur") == "(p <0,0001) en faveur"


def test_first_link_only_http():
    assert first_link("<a target='_blank' href='https://ansm.sante.fr/x'>Info</a>") == "https://ansm.sante.fr/x"
    assert first_link('<a href="javascript:alert(1)">x</a>') == ""


@pytest.mark.parametrize(
    ("raw", "value"),
    [("24,34", Decimal("24.34")), ("1,234,56", Decimal("1234.56")), ("12,345,67", Decimal("12345.67")),
     ("1,02", Decimal("1.02")), ("", None), ("7.5", Decimal("7.5"))],
)  # fmt: skip
def test_amounts_with_decimal_commas(raw, value):
    assert parse_decimal(raw) == value


@pytest.mark.parametrize("raw", ["abc", "1,2,x", "-3,00", "12 €"])
def test_bad_amounts_are_refused(raw):
    with pytest.raises(ValueError):
        parse_decimal(raw)


def test_the_three_date_formats():
    assert parse_date("12/03/1998") == dt.date(1998, 3, 12)
    assert parse_date("20230830") == dt.date(2023, 8, 30)
    assert parse_date("2023-08-30") == dt.date(2023, 8, 30)
    assert parse_date("") is None
    for bad in ("31/02/2020", "2023/08/30", "30-08-2023", "demain"):
        with pytest.raises(ValueError):
            parse_date(bad)
