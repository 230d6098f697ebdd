"""What referrals show in the shell (``cordee.lib.modules``): the "Referrals" module (received
ones waiting for an answer counted: the in-Cordée notice), a link on a patient's page, the words
of the audit purposes in the patient's access history."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from cordee.lib import modules
from cordee.referrals import purposes
from cordee.referrals.models import Referral


def waiting(user: Any) -> QuerySet[Referral]:
    """Received referrals waiting for the receiver's answer."""
    return Referral.objects.filter(receiver=user, state__in=[Referral.State.SENT, Referral.State.REDIRECTED])


def describe(n: int) -> str:
    return ngettext("%(n)s referral waits for your answer", "%(n)s referrals wait for your answer", n) % {"n": n}


def register() -> None:
    modules.register(
        modules.Entry(
            key="adressages",
            label=_("Referrals"),
            url_name="referrals:received",
            description=_("Refer patients to colleagues and follow the referrals you receive"),
            icon="send",
            kinds=frozenset({modules.PROFESSIONAL}),
            chosen=True,
            default_for=frozenset({modules.PROFESSIONAL}),
            waiting=modules.Waiting(rows=waiting, describe=describe),
            order=45,
            push_text=_("A referral changed in Cordée"),
        )
    )
    modules.register_patient_link(
        modules.PatientLink(
            key="adresser",
            label=_("Refer this patient"),
            url_name="referrals:new",
            kinds=frozenset({modules.PROFESSIONAL}),
            order=40,
        )
    )
    modules.register_purposes(purposes.LABELS)
    modules.register_purposes(
        {
            purposes.READ: _("Read a referral about you"),
            purposes.CREATED: _("Wrote a referral about you"),
            purposes.DOWNLOADED: _("Opened a file attached to a referral about you"),
            **{f"referral.{action}": _("Followed up a referral about you") for action in purposes.ACTIONS},
        }
    )
