"""The modules a user may choose; the navigation shows only the chosen ones.

``url_name`` is None while a module is not built yet: it is then listed as "coming soon" and
not linked, rather than pointing at an empty page.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Module:
    key: str
    label: str | Promise
    description: str | Promise
    url_name: str | None = None


MODULES: tuple[Module, ...] = (
    Module(
        "messagerie",
        _("Messaging"),
        _("Secure real-time conversations with colleagues and patients"),
        url_name="messaging:index",
    ),
    Module("prescription", _("Prescription"), _("Electronic prescriptions with signature")),
    Module("medicaments", _("Drugs"), _("The public drug database (BDPM)"), "drugs:search"),
    Module("bibliotheque", _("Library"), _("Scientific references (PubMed)")),
    Module("imagerie", _("Imaging"), _("Medical images (DICOM)")),
    Module("adressage", _("Referrals"), _("Referral letters to colleagues and structures")),
    Module("tele_expertise", _("Tele-expertise"), _("Ask an expert for an opinion")),
    Module("visio", _("Video"), _("Video calls from a conversation")),
)
MODULE_KEYS: tuple[str, ...] = tuple(module.key for module in MODULES)
DEFAULT_MODULES = {
    "professional": ["messagerie", "prescription", "medicaments", "adressage"],
    "staff": ["messagerie", "adressage"],
    "patient": ["messagerie"],
}


def chosen(keys: list[str]) -> list[Module]:
    wanted = set(keys)
    return [module for module in MODULES if module.key in wanted]
