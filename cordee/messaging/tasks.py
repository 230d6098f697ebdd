"""Background tasks of the messaging (django-tasks; ``manage.py worker`` runs them)."""

from __future__ import annotations

from django_tasks import task

from cordee.messaging import notifications
from cordee.messaging.services.attachments import purge_unsent


@task()
def send_waiting_notice(user_id: int) -> bool:
    """One e-mail saying a secure message waits (see ``notifications``); True if one was sent."""
    return notifications.send_waiting_notice(user_id)


@task()
def purge_unsent_attachments() -> int:
    """Uploads never sent with a message, after a day: deleted with their encrypted files."""
    return purge_unsent()
