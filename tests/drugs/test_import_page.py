"""The import page: operator only, sudo mode, a background task, progress polled by htmx."""

from __future__ import annotations

import shutil

import pytest

from cordee.audit.models import AuditEntry
from cordee.drugs.models import ImportRun, Product
from tests.accounts.annuaire_helpers import sudo_expired
from tests.drugs.conftest import run_import

PAGES = ["/medicaments/imports/", "/medicaments/imports/1/", "/medicaments/imports/1/progression/"]


@pytest.fixture
def import_root(settings, tmp_path, subset_dir):
    settings.DRUGS_IMPORT_DIR = tmp_path / "imports"
    shutil.copytree(subset_dir, settings.DRUGS_IMPORT_DIR / "2026-05-26")
    (settings.DRUGS_IMPORT_DIR / "2023-11-18").mkdir()
    return settings.DRUGS_IMPORT_DIR


def test_pages_need_a_login(client, db):
    for url in PAGES:
        assert client.get(url).status_code == 302
    assert client.post("/medicaments/imports/lancer/").status_code == 302


@pytest.mark.parametrize("who", ["alice", "ada", "otto", "paula"])
def test_only_the_operator_sees_them(client_for, personas, who, snapshot):
    run = run_import(snapshot)
    client = client_for(personas[who])
    for url in (
        "/medicaments/imports/",
        f"/medicaments/imports/{run.pk}/",
        f"/medicaments/imports/{run.pk}/progression/",
    ):
        assert client.get(url).status_code == 404  # as a page that does not exist
    assert client.post("/medicaments/imports/lancer/", {"kind": "bdpm", "directories": ["x"]}).status_code == 404
    assert not ImportRun.objects.exclude(pk=run.pk).exists()


def test_the_operator_lists_directories_and_runs(client_for, operator, import_root):
    html = client_for(operator).get("/medicaments/imports/").content.decode()
    assert html.index("2026-05-26") < html.index("2023-11-18")  # newest first
    assert str(import_root) in html


def test_starting_an_import_needs_a_recent_authentication(client_for, operator, import_root):
    client = client_for(operator)
    sudo_expired(client, operator)
    response = client.post("/medicaments/imports/lancer/", {"kind": "bdpm", "directories": ["2026-05-26"]})
    assert response.status_code == 302 and "reauthenticate" in response["Location"]
    assert not ImportRun.objects.exists()


def test_the_operator_starts_an_import_that_runs_in_the_background(
    client_for, operator, import_root, django_capture_on_commit_callbacks
):
    client = client_for(operator)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post("/medicaments/imports/lancer/", {"kind": "bdpm", "directories": ["2026-05-26"]})
    run = ImportRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/medicaments/imports/{run.pk}/"
    assert len(callbacks) == 1  # the task is enqueued after commit (immediate backend in tests)
    run.refresh_from_db()
    assert run.status == "done" and run.source == "page" and run.started_by == operator
    assert Product.objects.count() > 100
    requested = AuditEntry.objects.get(action="drugs.import.requested")
    assert requested.actor_id == operator.pk and requested.details["via"] == "page"
    finished = AuditEntry.objects.get(action="drugs.import.finished")
    assert finished.actor_id == operator.pk and finished.target_id == str(run.pk)
    page = client.get(f"/medicaments/imports/{run.pk}/?issues=orphan").content.decode()
    assert "CIS_GENER_bdpm.txt" in page and "hx-trigger" not in page  # done: no more polling


def test_progress_is_polled_every_two_seconds_while_running(client_for, operator, import_root):
    run = ImportRun.objects.create(status="running", files_total=10, files_done=3, current_file="CIS_COMPO_bdpm.txt")
    client = client_for(operator)
    fragment = client.get(f"/medicaments/imports/{run.pk}/progression/").content.decode()
    assert 'hx-trigger="every 2s"' in fragment
    assert f'hx-get="/medicaments/imports/{run.pk}/progression/"' in fragment and 'hx-swap="outerHTML"' in fragment
    assert "CIS_COMPO_bdpm.txt" in fragment and 'value="30"' in fragment
    assert "<script" not in fragment
    ImportRun.objects.filter(pk=run.pk).update(status="done", files_done=10)
    assert "hx-trigger" not in client.get(f"/medicaments/imports/{run.pk}/progression/").content.decode()


def test_rejected_lines_are_shown_with_file_line_and_reason(client_for, operator, snapshot):
    lines = (snapshot / "CIS_bdpm.txt").read_bytes().split(b"\n")
    lines[4] = lines[4].replace(b"\t", b"", 1)
    (snapshot / "CIS_bdpm.txt").write_bytes(b"\n".join(lines))
    run = run_import(snapshot)
    html = client_for(operator).get(f"/medicaments/imports/{run.pk}/").content.decode()
    assert "CIS_bdpm.txt" in html and '<td data-label="Ligne">5</td>' in html
    assert "12" in html and "11" in html


@pytest.mark.parametrize(
    "data",
    [{"kind": "bdpm", "directories": ["../../etc"]}, {"kind": "bdpm"}, {"kind": "nope", "directories": ["2026-05-26"]}],
)
def test_bad_requests_queue_nothing(client_for, operator, import_root, data):
    response = client_for(operator).post("/medicaments/imports/lancer/", data)
    assert response.status_code == 400 and 'class="message error"' in response.content.decode()
    assert not ImportRun.objects.exists()


def test_one_import_at_a_time(client_for, operator, import_root):
    ImportRun.objects.create(status="running")
    response = client_for(operator).post(
        "/medicaments/imports/lancer/", {"kind": "bdpm", "directories": ["2026-05-26"]}
    )
    assert response.status_code == 400
    assert ImportRun.objects.count() == 1


def test_the_pages_say_when_nothing_was_imported_yet(client_for, alice):
    client = client_for(alice)
    assert "pas encore été importée" in client.get("/medicaments/").content.decode()
    assert "pas encore été importé" in client.get("/medicaments/interactions/").content.decode()
