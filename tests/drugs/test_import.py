"""Importing the BDPM: re-import, removal marking, and each bad input of the issue.

Each test imports a copy of the real subset (``snapshot``), changed as the test needs, into an
empty database.
"""

from __future__ import annotations

from pathlib import Path

from cordee.audit.models import AuditEntry
from cordee.drugs.models import (
    Composition,
    ImportIssue,
    MitmEntry,
    PrescriptionCondition,
    Presentation,
    Product,
    SafetyInfo,
)
from cordee.drugs.search import search
from tests.drugs.bdpm_helpers import data_lines, field
from tests.drugs.conftest import run_import


def _issues(run, kind="rejected"):
    return list(run.issues.filter(kind=kind).order_by("file", "line").values_list("file", "line", "reason"))


def _file(run, name):
    return next(f for f in run.report["files"] if f["name"] == name)


def _rewrite(path: Path, transform) -> None:  # type: ignore[no-untyped-def]
    lines = path.read_bytes().split(b"\n")
    path.write_bytes(b"\n".join(transform(lines)))


def test_subset_import_counts_and_every_line_accounted_for(snapshot, db):
    run = run_import(snapshot)
    assert run.status == "done"
    for name in ("CIS_bdpm.txt", "CIS_CIP_bdpm.txt", "CIS_COMPO_bdpm.txt", "CIS_CPD_bdpm.txt"):
        entry = _file(run, name)
        assert entry["lines"] == len(data_lines(snapshot / name)) == entry["stored"] + entry["rejected"], name
    assert Product.objects.count() == len(data_lines(snapshot / "CIS_bdpm.txt"))
    assert _file(run, "CIS_GENER_bdpm.txt")["orphans"] == 3  # kept, reported
    assert run.report["missing"] == ["CIS_InfoImportantes"]


def test_reimport_of_the_same_snapshot_changes_nothing(snapshot, db):
    run_import(snapshot)
    again = run_import(snapshot)
    counts = _file(again, "CIS_bdpm.txt")["counts"]
    assert counts == {"created": 0, "updated": 0, "unchanged": Product.objects.count(), "restored": 0, "removed": 0}
    assert not Product.objects.filter(removed_at__isnull=False).exists()


def test_a_newer_snapshot_updates_in_place_and_marks_what_disappeared(snapshot, db):
    run_import(snapshot)
    kept_pk = Product.objects.get(cis="60234100").pk  # DOLIPRANE 1000 mg, comprimé
    gone = [field(line, 0).decode() for line in data_lines(snapshot / "CIS_bdpm.txt")[:3]]

    def newer(lines):
        out = [x for x in lines if field(x, 0).decode() not in gone]
        return [x.replace(b"DOLIPRANE 1000 mg, comprim\xe9\t", b"DOLIPRANE 1000 MG, comprim\xe9\t") for x in out]

    _rewrite(snapshot / "CIS_bdpm.txt", newer)
    compositions = Composition.objects.filter(cis__in=gone).count()
    _rewrite(snapshot / "CIS_COMPO_bdpm.txt", lambda lines: [x for x in lines if field(x, 0).decode() not in gone])
    run = run_import(snapshot)
    counts = _file(run, "CIS_bdpm.txt")["counts"]
    assert (counts["updated"], counts["removed"], counts["created"]) == (1, 3, 0)
    product = Product.objects.get(cis="60234100")
    assert product.pk == kept_pk and product.name.startswith("DOLIPRANE 1000 MG")
    removed = Product.objects.filter(cis__in=gone)
    assert removed.count() == 3 and all(p.removed_at for p in removed)  # marked, not deleted
    assert all(h.doc.removed for h in search(gone[0]).hits)
    # Their last known composition stays, though the newer CIS_COMPO no longer has it.
    assert Composition.objects.filter(cis__in=gone).count() == compositions > 0


def test_products_that_come_back_are_restored(snapshot, db):
    original = (snapshot / "CIS_bdpm.txt").read_bytes()
    first = data_lines(snapshot / "CIS_bdpm.txt")[0]
    (snapshot / "CIS_bdpm.txt").write_bytes(original.replace(first, b""))
    run_import(snapshot)
    cis = field(first, 0).decode()
    assert not Product.objects.filter(cis=cis).exists()
    (snapshot / "CIS_bdpm.txt").write_bytes(original)
    run_import(snapshot)
    Product.objects.filter(cis=cis).update(removed_at="2026-01-01T00:00:00Z")
    run = run_import(snapshot)
    assert _file(run, "CIS_bdpm.txt")["counts"]["restored"] == 1
    assert Product.objects.get(cis=cis).removed_at is None


def test_a_file_in_utf16_is_refused_alone(snapshot, db):
    run_import(snapshot)
    before = PrescriptionCondition.objects.count()
    text = (snapshot / "CIS_CPD_bdpm.txt").read_bytes().decode("cp1252")
    (snapshot / "CIS_CPD_bdpm.txt").write_bytes(text.encode("utf-16"))
    run = run_import(snapshot)
    assert run.status == "done"
    entry = _file(run, "CIS_CPD_bdpm.txt")
    assert "UTF-16" in entry["error"] and entry["stored"] == 0
    assert _issues(run, "file") == [("CIS_CPD_bdpm.txt", 0, entry["error"])]
    assert PrescriptionCondition.objects.count() == before  # what was stored is kept
    assert _file(run, "CIS_bdpm.txt")["stored"] > 0  # the other files went on


def test_each_file_is_decoded_by_its_own_encoding_even_mixed(snapshot, db):
    # CIS_CIP is UTF-8: make it Windows-1252, and re-encode one line of CIS_bdpm (cp1252) in UTF-8.
    cip = (snapshot / "CIS_CIP_bdpm.txt").read_bytes().decode("utf-8")
    (snapshot / "CIS_CIP_bdpm.txt").write_bytes(cip.encode("cp1252", errors="replace"))
    lines = (snapshot / "CIS_bdpm.txt").read_bytes().split(b"\n")
    index = next(i for i, x in enumerate(lines) if b"DOLIPRANE 1000 mg, comprim\xe9\t" in x)
    lines[index] = lines[index].decode("cp1252").encode("utf-8")
    (snapshot / "CIS_bdpm.txt").write_bytes(b"\n".join(lines))
    run = run_import(snapshot)
    assert _file(run, "CIS_CIP_bdpm.txt")["encoding"] == "cp1252"
    assert _file(run, "CIS_bdpm.txt")["encoding"] == "mixed"
    assert any("UTF-8" in note for note in _file(run, "CIS_bdpm.txt")["notes"])
    assert Product.objects.get(cis="60234100").name == "DOLIPRANE 1000 mg, comprimé"
    assert Product.objects.filter(name__contains="é").count() > 100
    assert Presentation.objects.filter(label__contains="comprimé").exists()


def test_a_truncated_file_keeps_its_whole_lines_and_rejects_the_cut_one(snapshot, db):
    data = (snapshot / "CIS_CIP_bdpm.txt").read_bytes()
    cut = data[: data.index(b"\n", len(data) // 2) + 40]  # in the middle of a line
    (snapshot / "CIS_CIP_bdpm.txt").write_bytes(cut)
    run = run_import(snapshot)
    whole_lines = cut.count(b"\n")
    entry = _file(run, "CIS_CIP_bdpm.txt")
    assert (entry["lines"], entry["stored"], entry["rejected"]) == (whole_lines + 1, whole_lines, 1)
    [(name, line, reason)] = _issues(run)
    assert (name, line) == ("CIS_CIP_bdpm.txt", whole_lines + 1)
    assert "Too few fields" in reason or "Trop peu" in reason
    assert "cut short" in reason or "tronqué" in reason


def test_a_truncated_newer_snapshot_does_not_remove_half_the_database(snapshot, db):
    run_import(snapshot)
    lines = (snapshot / "CIS_bdpm.txt").read_bytes().split(b"\n")
    (snapshot / "CIS_bdpm.txt").write_bytes(b"\n".join(lines[:10]))
    run = run_import(snapshot)
    assert not Product.objects.filter(removed_at__isnull=False).exists()
    assert any("truncated" in n or "tronqué" in n for n in _file(run, "CIS_bdpm.txt")["notes"])
    run_import(snapshot, allow_shrink=True)  # the operator confirms
    assert Product.objects.filter(removed_at__isnull=False).count() == Product.objects.count() - 10


def test_lines_with_too_few_or_too_many_fields_are_rejected_with_their_number(snapshot, db):
    def damage(lines):
        lines[0] = lines[0].replace(b"\t", b"", 1)  # a field lost
        lines[1] = lines[1].rstrip(b"\r") + b"\textra\r"  # a field too many
        lines[2] = lines[2].rstrip(b"\r") + b"\t\t\r"  # trailing empty fields: fine
        return lines

    _rewrite(snapshot / "CIS_bdpm.txt", damage)
    run = run_import(snapshot)
    rejected = _issues(run)
    assert [(f, n) for f, n, _r in rejected] == [("CIS_bdpm.txt", 1), ("CIS_bdpm.txt", 2)]
    assert "12" in rejected[0][2] and "11" in rejected[0][2]
    assert "13" in rejected[1][2]
    third = field(data_lines(snapshot / "CIS_bdpm.txt")[2], 0).decode()
    assert Product.objects.filter(cis=third).exists()
    excerpt = run.issues.get(file="CIS_bdpm.txt", line=2).excerpt
    assert excerpt.startswith(field(data_lines(snapshot / "CIS_bdpm.txt")[1], 0).decode())


def test_bad_values_are_rejected_with_the_reason(snapshot, db):
    def damage(lines):
        lines[0] = lines[0].replace(field(lines[0], 7), b"31/02/2020")  # no such date
        lines[1] = lines[1].replace(field(lines[1], 0), b"12AB5678", 1)  # not a CIS
        lines[2] = lines[2].replace(field(lines[2], 11), b"Peut-etre")  # not Oui/Non
        lines[3] = lines[3][:20] + b"\x81\x8d" + lines[3][20:]  # neither UTF-8 nor cp1252
        lines[4] = lines[4][:20] + b"\x00" + lines[4][20:]
        return lines

    _rewrite(snapshot / "CIS_bdpm.txt", damage)
    run = run_import(snapshot)
    reasons = [reason for _f, _n, reason in _issues(run)]
    assert len(reasons) == 5
    assert "31/02/2020" in reasons[0] and "12AB5678" in reasons[1] and "Peut-etre" in reasons[2]
    assert "UTF-8" in reasons[3] and "NUL" in reasons[4]
    assert run.status == "done" and Product.objects.count() == len(data_lines(snapshot / "CIS_bdpm.txt")) - 5


def test_a_duplicate_code_is_rejected(snapshot, db):
    _rewrite(snapshot / "CIS_CIP_bdpm.txt", lambda lines: [*lines[:-1], lines[0], lines[-1]])
    run = run_import(snapshot)
    [(name, _line, reason)] = _issues(run)
    assert name == "CIS_CIP_bdpm.txt"
    assert "(first at line 1)" in reason or "(première à la ligne 1)" in reason


def test_an_unknown_cis_in_a_dependent_file_is_kept_and_reported(snapshot, db):
    orphan = b"99999999\tcomprim\xe9\t01234\tSUBSTANCE INCONNUE\t1 mg\tun comprim\xe9\tSA\t1\r\n"
    (snapshot / "CIS_COMPO_bdpm.txt").write_bytes((snapshot / "CIS_COMPO_bdpm.txt").read_bytes() + orphan)
    run = run_import(snapshot)
    orphans = [(f, r) for f, _n, r in _issues(run, "orphan") if f == "CIS_COMPO_bdpm.txt"]
    assert len(orphans) == 1 and "99999999" in orphans[0][1]
    assert Composition.objects.filter(cis="99999999", substance_name="SUBSTANCE INCONNUE").exists()
    # It joins once CIS_bdpm lists the speciality.
    speciality = b"99999999\tPRODUIT TEST, comprim\xe9\tcomprim\xe9\torale\tAutorisation active\tProc\xe9dure nationale"
    speciality += b"\tCommercialis\xe9e\t01/01/2020\t\t\t LABO\tNon\r\n"
    (snapshot / "CIS_bdpm.txt").write_bytes((snapshot / "CIS_bdpm.txt").read_bytes() + speciality)
    run = run_import(snapshot)
    assert not [r for f, _n, r in _issues(run, "orphan") if f == "CIS_COMPO_bdpm.txt"]
    assert search("substance inconnue").hits[0].doc.cis == "99999999"


def test_missing_files_import_what_is_there_and_say_what_is_missing(snapshot, db):
    run_import(snapshot)
    mitm = MitmEntry.objects.count()
    (snapshot / "CIS_MITM.txt").unlink()
    (snapshot / "CIS_CPD_bdpm.txt").unlink()
    run = run_import(snapshot)
    assert run.status == "done"
    assert run.report["missing"] == ["CIS_CPD", "CIS_MITM", "CIS_InfoImportantes"]
    assert MitmEntry.objects.count() == mitm > 0  # kept from the previous import
    assert Product.objects.count() > 0


def test_safety_information_with_iso_dates_and_links(snapshot, db):
    link = "<a target='_blank' href='https://ansm.sante.fr/info'>Nouvelle formule</a>"
    info = f"60234100\t2024-01-15\t2099-12-31\t{link}\r\n"
    (snapshot / "CIS_InfoImportantes_20260526120000_bdpm.txt").write_bytes(info.encode("cp1252"))
    run = run_import(snapshot)
    assert "CIS_InfoImportantes" not in run.report["missing"]
    [safety] = SafetyInfo.objects.filter(cis="60234100")
    assert (safety.start_date.isoformat(), safety.text, safety.url) == (
        "2024-01-15",
        "Nouvelle formule",
        "https://ansm.sante.fr/info",
    )


def test_a_byte_order_mark_is_ignored(snapshot, db):
    data = (snapshot / "CIS_CIP_bdpm.txt").read_bytes()
    (snapshot / "CIS_CIP_bdpm.txt").write_bytes(b"\xef\xbb\xbf" + data)
    run = run_import(snapshot)
    assert _file(run, "CIS_CIP_bdpm.txt")["rejected"] == 0


def test_the_command_run_is_audited_with_the_system_user(snapshot, db):
    run = run_import(snapshot)
    requested = AuditEntry.objects.get(action="drugs.import.requested")
    finished = AuditEntry.objects.get(action="drugs.import.finished")
    assert requested.details["via"] == "command" and requested.details["system_user"]
    assert requested.target_id == finished.target_id == str(run.pk)
    assert finished.details["missing"] == ["CIS_InfoImportantes"]
    assert finished.outcome == "success"


def test_a_failed_import_is_recorded_and_audited(snapshot, db, monkeypatch):
    from cordee.drugs.bdpm import importer

    def explode(self, item):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk gone")

    monkeypatch.setattr(importer.BdpmImport, "_import_file", explode)
    run = run_import(snapshot)
    assert run.status == "failed" and "disk gone" in run.error
    assert AuditEntry.objects.get(action="drugs.import.failed").outcome == "failure"
    assert ImportIssue.objects.count() == 0


def test_utf16_without_bom_and_zip_files_are_refused_alone(snapshot, db):
    text = (snapshot / "CIS_GENER_bdpm.txt").read_bytes().decode("cp1252")
    (snapshot / "CIS_GENER_bdpm.txt").write_bytes(text.encode("utf-16-le"))
    (snapshot / "CIS_MITM.txt").write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    run = run_import(snapshot)
    assert "NUL" in _file(run, "CIS_GENER_bdpm.txt")["error"]
    assert "ZIP" in _file(run, "CIS_MITM.txt")["error"]
    assert run.status == "done" and Product.objects.exists()
