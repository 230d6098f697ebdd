"""Background tasks of the shell (django-tasks; ``manage.py db_worker`` runs them)."""

from __future__ import annotations

from django_tasks import task

from cordee.web import push


@task()
def send_push(user_ids: list[int], entry: str) -> int:
    """Push notifications to the subscribed browsers of these users (see ``push.send_push``)."""
    return push.send_push(user_ids, entry)
