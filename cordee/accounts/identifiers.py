"""French health identifiers: RPPS, FINESS, SIRET and INS (NIR / NIA).

Each ``validate_*`` returns the normalised identifier or raises ``IdentifierError`` with a
message that says what is wrong (length, characters or key), in French first: it is shown
to the person who typed it.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# FR Core object identifiers of the INS (ANS "Référentiel INS", FR Core Patient).
OID_INS_NIR = "1.2.250.1.213.1.4.8"
OID_INS_NIA = "1.2.250.1.213.1.4.9"
OID_RPPS = "1.2.250.1.71.4.2.1"  # idNat_PS namespace of the RPPS


class IdentifierError(ValidationError):
    """A malformed identifier; ``code`` says which rule failed (length, chars, key)."""


def luhn_valid(digits: str) -> bool:
    """Luhn (mod 10) check over a string of digits, key included as the last digit."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _compact(value: str) -> str:
    return re.sub(r"[\s.\-]", "", value or "").upper()


def validate_rpps(value: str) -> str:
    """An RPPS number: 11 digits whose last one is a Luhn key."""
    rpps = _compact(value)
    if not rpps.isdigit() or not rpps.isascii():
        raise IdentifierError(_("An RPPS number has digits only."), code="chars")
    if len(rpps) != 11:
        raise IdentifierError(_("An RPPS number has 11 digits (%(n)s given).") % {"n": len(rpps)}, code="length")
    if not luhn_valid(rpps):
        raise IdentifierError(_("This RPPS number's check key is wrong: check for a typing error."), code="key")
    return rpps


def id_nat_ps(rpps: str) -> str:
    """The national identifier of a professional (idNat_PS) is ``8`` followed by the RPPS."""
    return "8" + validate_rpps(rpps)


def rpps_from_id_nat_ps(value: str) -> str:
    """Inverse of :func:`id_nat_ps`; refuses anything that is not ``8`` + a valid RPPS."""
    compact = _compact(value)
    if len(compact) != 12 or not compact.startswith("8"):
        raise IdentifierError(_("An idNat_PS is 8 followed by the 11-digit RPPS number."), code="format")
    return validate_rpps(compact[1:])


def validate_siret(value: str) -> str:
    """A SIRET: 14 digits, Luhn key (La Poste's sites, SIREN 356000000, use a digit sum mod 5)."""
    siret = _compact(value)
    if not siret.isdigit() or not siret.isascii():
        raise IdentifierError(_("A SIRET number has digits only."), code="chars")
    if len(siret) != 14:
        raise IdentifierError(_("A SIRET number has 14 digits (%(n)s given).") % {"n": len(siret)}, code="length")
    if siret.startswith("356000000") and siret != "35600000000048":
        valid = sum(int(c) for c in siret) % 5 == 0
    else:
        valid = luhn_valid(siret)
    if not valid:
        raise IdentifierError(_("This SIRET number's check key is wrong: check for a typing error."), code="key")
    return siret


def validate_finess(value: str) -> str:
    """A FINESS number: 9 characters (département, 6 digits, Luhn key).

    Corsican numbers begin with 2A or 2B; the key is then computed with the letter read as 0,
    the département's number before 1976.
    """
    finess = _compact(value)
    if len(finess) != 9:
        raise IdentifierError(_("A FINESS number has 9 characters (%(n)s given).") % {"n": len(finess)}, code="length")
    digits = finess[0] + ("0" if finess[1] in "AB" and finess[0] == "2" else finess[1]) + finess[2:]
    if not digits.isdigit() or not digits.isascii():
        raise IdentifierError(_("A FINESS number has digits only (2A/2B for Corsica)."), code="chars")
    if not luhn_valid(digits):
        raise IdentifierError(_("This FINESS number's check key is wrong: check for a typing error."), code="key")
    return finess


# --- INS -------------------------------------------------------------------------------------
_NIR_SHAPE = re.compile(r"^[1-478]\d{4}(\d{2}|2A|2B)\d{6}\d{2}$")


def ins_key(first_13: str) -> int:
    """Key of an INS matricule: 97 − (first 13 digits mod 97), Corsica 2A→19 and 2B→18."""
    numeric = first_13.replace("2A", "19", 1) if first_13[5:7] == "2A" else first_13
    numeric = numeric.replace("2B", "18", 1) if first_13[5:7] == "2B" else numeric
    return 97 - (int(numeric) % 97)


def validate_ins(value: str) -> str:
    """An INS matricule (NIR or NIA): 15 characters, the last two a mod-97 key."""
    ins = _compact(value)
    if len(ins) != 15:
        raise IdentifierError(
            _("An INS number (NIR or NIA) has 15 characters, key included (%(n)s given).") % {"n": len(ins)},
            code="length",
        )
    if not _NIR_SHAPE.match(ins):
        raise IdentifierError(
            _("An INS number starts with 1, 2, 3, 4, 7 or 8 and has digits only (2A/2B for Corsica)."),
            code="chars",
        )
    if ins_key(ins[:13]) != int(ins[13:]):
        raise IdentifierError(_("This INS number's key is wrong: check for a typing error."), code="key")
    return ins


def ins_oid(ins: str) -> str:
    """The OID naming the INS kind: NIA matricules begin with 7 or 8, NIR ones with 1–4."""
    return OID_INS_NIA if ins[0] in "78" else OID_INS_NIR


# --- A structure's address and telephone (printed on prescriptions, CSP R.5132-3) -----------------
_PHONE_FR = re.compile(r"^0[1-9]\d{8}$")


def validate_phone_fr(value: str) -> str:
    """A French telephone number, written ``01 23 45 67 89``: ten digits from 0 (01–09), or
    ``+33`` / ``0033`` and the nine digits after the 0."""
    phone = re.sub(r"[\s.\-()]", "", value or "")
    if phone.startswith("+33"):
        phone = "0" + phone[3:]
    elif phone.startswith("0033"):
        phone = "0" + phone[4:]
    if not phone.isascii() or not _PHONE_FR.match(phone):
        raise IdentifierError(
            _("A French telephone number has 10 digits starting with 0 (or +33 and 9 digits)."), code="phone"
        )
    return " ".join(phone[i : i + 2] for i in range(0, 10, 2))


def validate_postcode(value: str) -> str:
    """A French postcode: five digits (Corsica 20…, overseas 97… and 98… included)."""
    postcode = re.sub(r"\s", "", value or "")
    if not postcode.isascii() or not re.fullmatch(r"\d{5}", postcode) or postcode.startswith("00"):
        raise IdentifierError(_("A French postcode has 5 digits."), code="postcode")
    return postcode


# Django field validators return nothing; these adapt the validate_* functions above.
def rpps_validator(value: str) -> None:
    validate_rpps(value)


def finess_validator(value: str) -> None:
    validate_finess(value)


def siret_validator(value: str) -> None:
    validate_siret(value)


def ins_validator(value: str) -> None:
    validate_ins(value)


def phone_fr_validator(value: str) -> None:
    validate_phone_fr(value)


def postcode_validator(value: str) -> None:
    validate_postcode(value)
