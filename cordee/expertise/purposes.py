"""Why a tele-expertise request is read or changed: purpose codes, audit actions, their words."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

VIEW = "expertise.view"
WRITE = "expertise.write"
TRANSITION = "expertise.transition"
ATTACHMENT = "expertise.attachment"
BILLING = "expertise.billing"

READ = "expertise.read"
CREATED = "expertise.created"
BILLING_EXPORTED = "expertise.billing_exported"

LABELS: dict[str, str | Promise] = {
    VIEW: _("Read a request for an expert opinion about you"),
    WRITE: _("Asked an expert's opinion about you"),
    TRANSITION: _("Followed up a request for an expert opinion about you"),
    ATTACHMENT: _("Opened a file attached to a request for an expert opinion about you"),
}
