"""Why a referral is read or changed: purpose codes and audit actions; their words are shown to
the patient in her access history (registered from ``shell.register``)."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

VIEW = "referral.view"
WRITE = "referral.write"
TRANSITION = "referral.transition"
LETTER = "referral.letter"
ATTACHMENT = "referral.attachment"
LIST = "referral.list"

READ = "referral.read"
CREATED = "referral.created"
DOWNLOADED = "referral.downloaded"
# Transition actions: "referral." + the action name (sent, accepted…).
ACTIONS = ("send", "accept", "decline", "redirect", "appointment", "seen", "report", "close")

LABELS: dict[str, str | Promise] = {
    VIEW: _("Read a referral about you"),
    WRITE: _("Wrote a referral about you"),
    TRANSITION: _("Followed up a referral about you"),
    LETTER: _("Printed a referral letter about you"),
    ATTACHMENT: _("Opened a file attached to a referral about you"),
    LIST: _("Saw a referral about you in their list"),
}
