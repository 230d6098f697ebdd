"""One parser per BDPM file: the fields of a line in, a dict of clean values out.

Columns follow ANSM's specification (bdpm/doc, v1 of 15/12/2014) and, for the files it does not
describe, the files themselves: ``CIS_CIP_bdpm`` now has 13 columns (price without fee, price
with fee, dispensing fee, then the indications), ``CIS_CIP_Dispo_Spec`` 8 and ``CIS_MITM`` 4.
A parser raises ``RowError`` with the reason; the caller records the line as rejected.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop  # field names: translated when reported

from cordee.drugs.text import clean_html, first_link, parse_date, parse_decimal

Values = dict[str, Any]

_CIS = re.compile(r"\d{8}")
_CIP7 = re.compile(r"\d{7}")
_CIP13 = re.compile(r"\d{13}")
_URL = re.compile(r"https?://\S+")
MAX_URL = 500  # the models' URL length


class RowError(ValueError):
    pass


MAX_REPAIRS = 64  # ways of dropping extra empty fields tried for one line


def _count_error(columns: int, found: int) -> RowError:
    kind = _("too few") if found < columns else _("too many")
    return RowError(
        _("%(kind)s fields: %(expected)s expected, %(found)s found.")
        % {"kind": kind.capitalize(), "expected": columns, "found": found}
    )


def split_fields(text: str, columns: int) -> list[str]:
    """The line's fields, with trailing empty extras dropped; RowError on a wrong count."""
    fields = text.split("\t")
    if len(fields) > columns and not any(f.strip() for f in fields[columns:]):
        fields = fields[:columns]
    if len(fields) != columns:
        raise _count_error(columns, len(fields))
    return fields


def parse_line(parser: Callable[[list[str]], Values], text: str, columns: int) -> tuple[Values, bool]:
    """The values of a line, and whether extra empty fields had to be dropped to read it.

    Real files have lines with more fields than the specification, all the extra ones empty:
    trailing tabs, or a doubled tab inside the line. Such a line is read without them when
    exactly one way of dropping empty fields gives a valid line (the parser checks codes,
    natures, numbers and dates); otherwise it is rejected as before."""
    fields = text.split("\t")
    if len(fields) <= columns:
        return parser(split_fields(text, columns)), False
    extra = len(fields) - columns
    if not any(f.strip() for f in fields[columns:]):
        return parser(fields[:columns]), True
    empty = [i for i, f in enumerate(fields) if not f.strip()]
    if len(empty) < extra:
        raise _count_error(columns, len(fields))
    readings: list[Values] = []
    for dropped in itertools.islice(itertools.combinations(reversed(empty), extra), MAX_REPAIRS):
        try:
            values = parser([f for i, f in enumerate(fields) if i not in dropped])
        except RowError:
            continue
        if values not in readings:
            readings.append(values)
    if len(readings) != 1:
        raise _count_error(columns, len(fields))
    return readings[0], True


def _code(value: str, pattern: re.Pattern[str], name: str) -> str:
    value = value.strip()
    if not pattern.fullmatch(value):
        raise RowError(_("Invalid %(name)s: “%(value)s”.") % {"name": _(name), "value": value[:40]})
    return value


def _date(value: str, name: str, *, required: bool = False) -> Any:
    try:
        parsed = parse_date(value)
    except ValueError:
        raise RowError(_("Invalid date in %(name)s: “%(value)s”.") % {"name": _(name), "value": value[:40]}) from None
    if parsed is None and required:
        raise RowError(_("Missing date in %(name)s.") % {"name": _(name)})
    return parsed


def _amount(value: str, name: str) -> Any:
    try:
        return parse_decimal(value)
    except ValueError:
        raise RowError(_("Invalid amount in %(name)s: “%(value)s”.") % {"name": _(name), "value": value[:40]}) from None


def _int(value: str, name: str, allowed: set[int] | None = None) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        raise RowError(_("Invalid number in %(name)s: “%(value)s”.") % {"name": _(name), "value": value[:40]}) from None
    if allowed is not None and number not in allowed:
        raise RowError(_("Unexpected value in %(name)s: “%(value)s”.") % {"name": _(name), "value": value[:40]})
    return number


def _url(value: str) -> str:
    value = value.strip()
    return value if _URL.fullmatch(value) and len(value) <= MAX_URL else ""


def _short(value: str, name: str, limit: int) -> str:
    value = clean_html(value)
    if len(value) > limit:
        raise RowError(_("%(name)s longer than %(n)s characters.") % {"name": _(name), "n": limit})
    return value


def _required(value: str, name: str) -> str:
    value = clean_html(value)
    if not value:
        raise RowError(_("Empty %(name)s.") % {"name": _(name)})
    return value


def speciality(f: list[str]) -> Values:
    monitoring = f[11].strip().lower()
    if monitoring not in ("oui", "non"):
        raise RowError(_("Reinforced monitoring must be Oui or Non, not “%(value)s”.") % {"value": f[11][:20]})
    commercialisation = f[6].strip()
    return {
        "cis": _code(f[0], _CIS, "CIS"),
        "name": _required(f[1], gettext_noop("name")),
        "form": clean_html(f[2]),
        "routes": ";".join(r.strip() for r in clean_html(f[3]).split(";") if r.strip()),
        "amm_status": f[4].strip(),
        "amm_procedure": f[5].strip(),
        "commercialisation": commercialisation,
        "is_commercialised": commercialisation.lower() == "commercialisée",
        "amm_date": _date(f[7], gettext_noop("AMM date")),
        "bdm_status": f[8].strip(),
        "eu_number": f[9].strip(),
        "holders": "; ".join(h.strip() for h in f[10].split(";") if h.strip()),
        "reinforced_monitoring": monitoring == "oui",
    }


def presentation(f: list[str]) -> Values:
    collectivities = f[7].strip().lower()
    return {
        "cis": _code(f[0], _CIS, "CIS"),
        "cip7": _code(f[1], _CIP7, "CIP7"),
        "label": _required(f[2], gettext_noop("label")),
        "admin_status": f[3].strip(),
        "commercialisation": f[4].strip(),
        "commercialisation_date": _date(f[5], gettext_noop("declaration date")),
        "cip13": _code(f[6], _CIP13, "CIP13"),
        "collectivities": collectivities if collectivities in ("oui", "non", "inconnu") else "",
        "reimbursement_rates": "; ".join(re.sub(r"\s*%", " %", r.strip()) for r in f[8].split(";") if r.strip()),
        "price": _amount(f[9], gettext_noop("price")),
        "price_with_fee": _amount(f[10], gettext_noop("price with fee")),
        "dispensing_fee": _amount(f[11], gettext_noop("dispensing fee")),
        "reimbursement_indications": clean_html(f[12]),
    }


def composition(f: list[str]) -> Values:
    nature = f[6].strip().upper()
    if nature not in ("SA", "FT"):
        raise RowError(_("Component nature must be SA or FT, not “%(value)s”.") % {"value": f[6][:20]})
    return {
        "cis": _code(f[0], _CIS, "CIS"),
        "element": clean_html(f[1]),
        "substance_code": _short(f[2], gettext_noop("substance code"), 10),
        "substance_name": _required(f[3], gettext_noop("substance")),
        "dosage": clean_html(f[4]),
        "dosage_reference": clean_html(f[5]),
        "nature": nature,
        "link_number": _int(f[7], gettext_noop("link number")),
    }


def generic(f: list[str]) -> Values:
    return {
        "group_id": _int(f[0], gettext_noop("group")),
        "group_label": _required(f[1], gettext_noop("group label")),
        "cis": _code(f[2], _CIS, "CIS"),
        "generic_type": _int(f[3], gettext_noop("generic type"), {0, 1, 2, 4}),
        "sort_order": _int(f[4], gettext_noop("sort number")),
    }


def condition(f: list[str]) -> Values:
    return {"cis": _code(f[0], _CIS, "CIS"), "text": _required(f[1], gettext_noop("condition"))}


def has_opinion(f: list[str]) -> Values:
    return {
        "cis": _code(f[0], _CIS, "CIS"),
        "dossier": _short(_required(f[1], gettext_noop("HAS dossier")), gettext_noop("HAS dossier"), 20),
        "reason": clean_html(f[2]),
        "date": _date(f[3], gettext_noop("opinion date"), required=True),
        "value": clean_html(f[4]),
        "label": clean_html(f[5]),
    }


def has_link(f: list[str]) -> Values:
    url = _url(f[1])
    if not url:
        raise RowError(_("Not an http(s) link: “%(value)s”.") % {"value": f[1][:60]})
    return {
        "dossier": _short(_required(f[0], gettext_noop("HAS dossier")), gettext_noop("HAS dossier"), 20),
        "url": url,
    }


def availability(f: list[str]) -> Values:
    return {
        "cis": _code(f[0], _CIS, "CIS"),
        "cip13": _code(f[1], _CIP13, "CIP13") if f[1].strip() else "",
        "status_code": _int(f[2], gettext_noop("status")),
        "status_label": clean_html(f[3]),
        "start_date": _date(f[4], gettext_noop("start date")),
        "updated_date": _date(f[5], gettext_noop("update date")),
        "back_date": _date(f[6], gettext_noop("return date")),
        "url": _url(f[7]),
    }


def mitm(f: list[str]) -> Values:
    return {"cis": _code(f[0], _CIS, "CIS"), "atc_code": f[1].strip()[:10], "name": clean_html(f[2]), "url": _url(f[3])}


def safety_info(f: list[str]) -> Values:
    return {
        "cis": _code(f[0], _CIS, "CIS"),
        "start_date": _date(f[1], gettext_noop("start date")),
        "end_date": _date(f[2], gettext_noop("end date")),
        "text": _required(f[3], gettext_noop("text")),
        "url": first_link(f[3]),
    }


PARSERS: dict[str, Callable[[list[str]], Values]] = {
    "CIS": speciality,
    "CIS_CIP": presentation,
    "CIS_COMPO": composition,
    "CIS_GENER": generic,
    "CIS_CPD": condition,
    "CIS_HAS_SMR": has_opinion,
    "CIS_HAS_ASMR": has_opinion,
    "HAS_LiensPageCT": has_link,
    "CIS_CIP_Dispo_Spec": availability,
    "CIS_MITM": mitm,
    "CIS_InfoImportantes": safety_info,
}
