"""A study shared into a conversation about the same patient (her care-team thread, a thread with her).

No copy and no file: the message carries the link of the study's page (its id only, never a name
or a UID). A member who follows it goes through ``access_study`` like anyone: they see the study
only if they may open the patient, and their opening is audited there. The share itself is audited
(an ``access`` entry the patient sees). Referrals and tele-expertise will attach studies the same way.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _

from cordee.accounts.models import User
from cordee.imaging import access, purposes
from cordee.imaging.models import Study
from cordee.messaging.access import SEND, access_conversation, visible_conversations
from cordee.messaging.models import Conversation
from cordee.messaging.services.sending import SendRequest, SendResult, do_send_message


def share_targets(user: User, study: Study) -> list[Conversation]:
    if study.patient_id is None or user.kind != User.Kind.PROFESSIONAL:
        return []
    return list(
        visible_conversations(user)
        .filter(patient_id=study.patient_id, members__user=user, closed_at__isnull=True)
        .order_by("kind", "pk")
    )


def do_share(
    user: User, study: Study, basis: str, conversation_id: Any, *, request: HttpRequest | None = None
) -> SendResult:
    """Post the study's link into a conversation about its patient (``Http404`` for any other)."""
    if study.patient_id is None or basis == "self" or user.kind != User.Kind.PROFESSIONAL:
        raise Http404
    conversation = access_conversation(user, conversation_id, purpose=SEND, request=request, write=True)
    if conversation.patient_id != study.patient_id:
        raise Http404  # a patient's images go only where her care is discussed
    body = _("Imaging study shared: %(url)s") % {"url": reverse("imaging:study", args=[study.pk])}
    with transaction.atomic():
        result = do_send_message(
            SendRequest(user, conversation.pk, body, f"imaging-{study.pk}-{conversation.pk}", request=request)
        )
        access.record_study_entry(
            purposes.SHARED,
            user,
            study,
            basis,
            purposes.STUDY_SHARE,
            request,
            conversation=conversation.pk,
            instances=study.instance_count,
        )
    return result
