"""The import page of the drug database: start an import, follow it, read its report.

For the platform operator only (``services.can_import``); anyone else gets the 404 of a page
that does not exist. Starting an import asks for a recent authentication (sudo mode): it
changes reference data for every structure.
"""

from __future__ import annotations

from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cordee.drugs import services
from cordee.drugs.access import access_import_run
from cordee.drugs.models import ImportIssue, ImportRun
from cordee.lib.http import AuthedRequest

ISSUES_PER_PAGE = 200


def _page_context() -> dict:
    return {
        "runs": ImportRun.objects.select_related("started_by")[:20],
        "directories": services.importable_directories(),
        "import_root": services.import_root(),
        "kinds": ImportRun.Kind.choices,
    }


@login_required
@require_GET
def imports(request: AuthedRequest) -> HttpResponse:
    if not services.can_import(request.user):
        raise Http404
    return render(request, "drugs/imports.html", _page_context())


@login_required
@require_POST
@reauthentication_required
def start_import(request: AuthedRequest) -> HttpResponse:
    if not services.can_import(request.user):
        raise Http404
    try:
        run = services.do_queue_import(
            request.POST.get("kind", ""), request.POST.getlist("directories"), by=request.user, request=request
        )
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return render(request, "drugs/imports.html", _page_context(), status=400)
    messages.success(request, _("Import queued: this page follows it."))
    return redirect("drugs:import_run", run.pk)


@login_required
@require_GET
def import_run(request: AuthedRequest, run_id: int) -> HttpResponse:
    run = access_import_run(request.user, run_id, purpose="drugs.import.view", request=request)
    kind = request.GET.get("issues", ImportIssue.Kind.REJECTED)
    if kind not in ImportIssue.Kind.values:
        kind = ImportIssue.Kind.REJECTED
    issues = run.issues.filter(kind=kind).order_by("file", "line", "pk")
    page = Paginator(issues, ISSUES_PER_PAGE).get_page(request.GET.get("page"))
    context = {"run": run, "page": page, "issue_kind": kind, "issue_kinds": ImportIssue.Kind.choices}
    return render(request, "drugs/import_run.html", context)


@login_required
@require_GET
def import_progress(request: AuthedRequest, run_id: int) -> HttpResponse:
    """The progress fragment, polled by htmx every 2 s while the run is queued or running."""
    run = access_import_run(request.user, run_id, purpose="drugs.import.view", request=request)
    return render(request, "drugs/_run_progress.html", {"run": run, "was_active": True})
