"""Background tasks of the library (run by ``manage.py worker`` in production)."""

from __future__ import annotations

from django_tasks import task

from cordee.library import services


@task()
def run_import(run_id: int) -> str:
    """Perform a queued import run; its progress and outcome are on the run itself."""
    return services.do_run_import(run_id).status
