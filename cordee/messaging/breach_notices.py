"""Breach notices (GDPR art. 34) delivered as secure messages, once an officer approved them.

The security app sits below messaging: it sends ``security.signals.notices_approved`` after the
approval's commit, and this module writes, for each notice of a patient with an active account, one
message from the approving officer in a conversation of its own (``pair_key`` ``s:<notice>``, kind
patient, the officer and the patient as members; the patient may answer there). The text is the
letter of ``security.drafts`` (encrypted at rest like every message); the message's own audit entry
names the patient, as any message does. A notice already delivered is not sent twice (the client
key is the notice's).
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from cordee.accounts.models import User
from cordee.messaging.models import Conversation, Member
from cordee.messaging.services.conversations import _get_or_create
from cordee.messaging.services.sending import SendError, SendRequest, after_send, send_messages
from cordee.security import drafts
from cordee.security.models import BreachNotice

logger = logging.getLogger(__name__)


def text(notice: BreachNotice) -> str:
    parts = [str(_("Information about your personal data"))]
    parts += [f"{heading}\n{body}" for heading, body in drafts.letter(notice)]
    parts.append(str(_("This letter is sent under article 34 of the GDPR.")))
    return "\n\n".join(parts)


def deliver(incident_id: int, officer_id: int, notice_ids: list[int]) -> int:
    """Send the notices; how many messages were written."""
    officer = User.objects.filter(pk=officer_id, is_active=True).first()
    if officer is None:
        return 0
    notices = BreachNotice.objects.filter(
        pk__in=notice_ids, incident_id=incident_id, sent_at__isnull=False, patient__user__is_active=True
    ).select_related("incident", "patient__user")
    sent = 0
    with translation.override("fr"):
        for notice in notices:
            patient = notice.patient
            assert patient.user is not None  # noqa: S101  (filtered above)
            members = {officer.pk: Member.Role.ADMIN, patient.user.pk: Member.Role.MEMBER}
            with transaction.atomic():
                conversation, _created = _get_or_create(
                    f"s:{notice.pk}", Conversation.Kind.PATIENT, by=officer, members=members, patient=patient
                )
                request = SendRequest(
                    user=officer,
                    conversation_id=conversation.pk,
                    body=text(notice),
                    client_key=f"breach-notice-{notice.pk}",
                )
                results = send_messages([request])
                after_send(results)
            if isinstance(results[0], SendError):
                logger.warning("breach notice #%s not delivered as a message: %s", notice.pk, results[0])
                continue
            sent += 0 if results[0].duplicate else 1
    return sent
