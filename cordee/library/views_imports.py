"""The library's import page: choose files, start an import, follow it, read its report.

For the platform operator only (``services.can_import``); anyone else gets the 404 of a page
that does not exist. Starting an import asks for a recent authentication (sudo mode).
"""

from __future__ import annotations

from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cordee.lib.http import AuthedRequest
from cordee.library import services
from cordee.library.access import access_import_run
from cordee.library.models import ImportRun


def _page_context() -> dict:
    return {
        "runs": ImportRun.objects.select_related("started_by")[:20],
        "files": services.importable_files(),
        "import_root": services.import_root(),
    }


@login_required
@require_GET
def imports(request: AuthedRequest) -> HttpResponse:
    if not services.can_import(request.user):
        raise Http404
    return render(request, "library/imports.html", _page_context())


@login_required
@require_POST
@reauthentication_required
def start_import(request: AuthedRequest) -> HttpResponse:
    if not services.can_import(request.user):
        raise Http404
    try:
        run = services.do_queue_import(request.POST.getlist("files"), by=request.user, request=request)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return render(request, "library/imports.html", _page_context(), status=400)
    messages.success(request, _("Import queued: this page follows it."))
    return redirect("library:import_run", run.pk)


@login_required
@require_GET
def import_run(request: AuthedRequest, run_id: int) -> HttpResponse:
    run = access_import_run(request.user, run_id, purpose="library.import.view", request=request)
    return render(request, "library/import_run.html", {"run": run})


@login_required
@require_GET
def import_progress(request: AuthedRequest, run_id: int) -> HttpResponse:
    """The progress fragment, polled by htmx every 2 s while the run is queued or running."""
    run = access_import_run(request.user, run_id, purpose="library.import.view", request=request)
    return render(request, "library/_run_progress.html", {"run": run, "was_active": True})
