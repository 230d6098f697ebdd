"""What tele-expertise shows in the shell: the "Expert opinions" module (requests waiting for the
expert counted), the patient's "My referrals and opinions" entry, a link on a patient's page, the
words of the audit purposes."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from cordee.expertise import access, purposes
from cordee.expertise.models import Expertise
from cordee.lib import modules


def waiting(user: Any) -> QuerySet[Expertise]:
    """Requests for the user's opinion to take or to answer (named to them, or open to their service)."""
    waits = [Expertise.State.SENT, Expertise.State.ACCEPTED]
    return access.received_by(user).map(lambda part: part.filter(state__in=waits)).keys()


def describe(n: int) -> str:
    return ngettext("%(n)s request for your opinion waits", "%(n)s requests for your opinion wait", n) % {"n": n}


def register() -> None:
    modules.register(
        modules.Entry(
            key="avis",
            label=_("Expert opinions"),
            url_name="expertise:received",
            description=_("Ask colleagues for an expert opinion (tele-expertise) and answer theirs"),
            icon="ask",
            kinds=frozenset({modules.PROFESSIONAL}),
            chosen=True,
            default_for=frozenset({modules.PROFESSIONAL}),
            waiting=modules.Waiting(rows=waiting, describe=describe, reads=("professional",)),
            order=46,
            push_text=_("A request for an expert opinion changed in Cordée"),
        )
    )
    modules.register(
        modules.Entry(
            key="mes_demandes",
            label=_("My referrals and opinions"),
            url_name="expertise:mine",
            description=_("The referrals and expert opinions about you"),
            icon="ask",
            kinds=frozenset({modules.PATIENT}),
            order=38,
        )
    )
    modules.register_patient_link(
        modules.PatientLink(
            key="avis",
            label=_("Ask an expert's opinion"),
            url_name="expertise:new",
            kinds=frozenset({modules.PROFESSIONAL}),
            order=41,
        )
    )
    modules.register_purposes(purposes.LABELS)
    modules.register_purposes(
        {
            purposes.READ: _("Read a request for an expert opinion about you"),
            purposes.CREATED: _("Asked an expert's opinion about you"),
            **{
                f"expertise.{a}": _("Followed up a request for an expert opinion about you")
                for a in ("send", "accept", "decline", "question", "reply", "answer", "close")
            },
        }
    )
