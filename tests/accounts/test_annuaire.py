"""The Annuaire Santé extraction: parser, import service and the import_annuaire command.

Every malformed input gives a clear message, and nothing is lost: each data line ends up
either imported or rejected with its number and reason.
"""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from cordee.accounts.annuaire.models import AnnuaireEntry, AnnuaireImport
from cordee.accounts.annuaire.names import same_family_name
from cordee.accounts.annuaire.parser import (
    MAX_LINE_BYTES,
    AnnuaireFormatError,
    Rejection,
    Row,
    open_extraction,
)
from cordee.accounts.annuaire.services import do_import_annuaire
from cordee.audit.models import AuditEntry
from tests.accounts.annuaire_helpers import (
    HEADER,
    SAMPLE,
    SAMPLE_BYTES,
    SAMPLE_LINES,
    extraction,
    line,
    rpps_line,
    stream,
    with_key,
)


@pytest.fixture(autouse=True)
def _english(settings):
    """These tests read the English messages; the French catalogue is checked by tests/web/test_i18n.py."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


DATA_LINES = SAMPLE_LINES[1:]
GOOD_RPPS = with_key("1000000010")


def parse(data: bytes):
    reader = open_extraction(stream(data))
    items = list(reader)
    return reader, [i for i in items if isinstance(i, Row)], [i for i in items if isinstance(i, Rejection)]


def format_error(data: bytes) -> str:
    with pytest.raises(AnnuaireFormatError) as info:
        open_extraction(stream(data))
    return str(info.value)


# --- the real sample -----------------------------------------------------------------------------
def test_real_sample_parses_every_line():
    rpps_in_file = sum(1 for raw in DATA_LINES if raw.split("|")[0] == "8")
    adeli_in_file = sum(1 for raw in DATA_LINES if raw.split("|")[0] == "0")
    reader, rows, rejected = parse(SAMPLE_BYTES)
    assert (len(rows), rejected, reader.notes) == (22, [], [])
    assert rpps_in_file + adeli_in_file == 22
    assert sum(1 for r in rows if r.values["id_type"] == "8") == rpps_in_file
    assert sum(1 for r in rows if r.values["id_type"] == "0") == adeli_in_file
    assert [r.line for r in rows] == list(range(2, 24))
    doctor = next(r for r in rows if r.rpps)
    assert (doctor.rpps, doctor.values["last_name"], doctor.values["profession_code"]) == (
        DATA_LINES[-1].split("|")[1],
        "BENHOUCHAME",
        "10",
    )
    assert doctor.values["savoir_faire_label"] == "Gynécologie-obstétrique"
    assert all(r.rpps == "" for r in rows if r.values["id_type"] == "0")


def test_real_sample_imports_with_counts_and_audit(db):
    run = do_import_annuaire(stream(SAMPLE_BYTES), file_name=SAMPLE.name)
    people = {tuple(raw.split("|")[:2]) for raw in DATA_LINES}
    assert (run.status, run.rows, run.people, run.rejected, run.rejected_lines) == ("done", 22, len(people), 0, [])
    assert run.size == len(SAMPLE_BYTES) and len(run.sha256) == 64
    assert AnnuaireEntry.objects.filter(import_run=run).count() == 22
    assert AnnuaireEntry.objects.filter(import_run=run, id_type="8").exclude(rpps="").count() == 1
    entry = AuditEntry.objects.get(action="annuaire.imported")
    assert (entry.outcome, entry.target_id, entry.details["rows"], entry.details["sha256"]) == (
        "success",
        str(run.pk),
        22,
        run.sha256,
    )


def test_people_count_deduplicates_activities(db):
    data = extraction(rpps_line(GOOD_RPPS, "MARTIN"), rpps_line(GOOD_RPPS, "MARTIN"), *DATA_LINES[:2])
    run = do_import_annuaire(stream(data), file_name="x.txt")
    assert (run.rows, run.people) == (4, 3)


def test_crlf_and_bom_read_like_lf():
    data = b"\xef\xbb\xbf" + SAMPLE_BYTES.replace(b"\n", b"\r\n")
    _, rows, rejected = parse(data)
    _, plain_rows, _ = parse(SAMPLE_BYTES)
    assert rejected == [] and rows == plain_rows


def test_cp1252_file_is_read_with_a_note():
    data = SAMPLE_BYTES.decode("utf-8").encode("cp1252")
    reader, rows, rejected = parse(data)
    _, utf8_rows, _ = parse(SAMPLE_BYTES)
    assert rejected == [] and rows == utf8_rows
    assert reader.encoding == "cp1252"
    assert reader.notes == ["The file is not UTF-8: it was read as Windows-1252 (cp1252)."]
    assert any(r.values["first_name"] == "Céline" for r in rows)


def test_one_cp1252_line_in_a_utf8_file_is_kept_and_noted():
    data = extraction(DATA_LINES[0]) + rpps_line(GOOD_RPPS, "LEFÈVRE").encode("cp1252") + b"\n"
    reader, rows, rejected = parse(data)
    assert rejected == [] and rows[1].values["last_name"] == "LEFÈVRE"
    assert reader.notes == ["1 line(s) were not valid UTF-8 and were read as Windows-1252: 3."]


# --- whole-file errors ---------------------------------------------------------------------------
def test_empty_file():
    assert format_error(b"") == "The file is empty."
    assert format_error(b"\n\n") == "The file is empty."


def test_header_only_imports_nothing(db):
    run = do_import_annuaire(stream(extraction()), file_name="header.txt")
    assert (run.status, run.rows, run.rejected) == ("done", 0, 0)


def test_wrong_header_names_the_missing_column():
    header = HEADER.replace("|Nom d'exercice|", "|Nom|")
    message = format_error(extraction(*DATA_LINES, header=header))
    assert "not an Annuaire Santé PS_LibreAcces_Personne_activite extraction" in message
    assert "“Nom d'exercice”" in message


def test_another_open_data_file_is_refused_clearly():
    bdpm = b"60002283\tANASTROZOLE ACCORD 1 mg\tcomprim\xe9 pellicul\xe9\torale\n"  # a BDPM line: cp1252, tabs
    assert "the header has no column “Type d'identifiant PP”" in format_error(bdpm)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (bytes(range(256)) * 4, "This is not a text file."),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "This is a PNG file, not a text extraction."),
        (b"PK\x03\x04\x14\x00\x00\x00", "This is a ZIP archive"),
        (b"%PDF-1.7\n%\xe2\xe3", "This is a PDF file, not a text extraction."),
        (HEADER.encode("utf-16"), "This is a UTF-16 file, not a text extraction."),
        (b"x" * (MAX_LINE_BYTES + 10), "This is not a text file."),
    ],
)
def test_binary_and_other_files_are_refused(data, message):
    assert message in format_error(data)


def test_failed_import_is_recorded_and_audited(db):
    run = do_import_annuaire(stream(b"PK\x03\x04junk"), file_name="PS_LibreAcces.zip")
    assert run.status == "failed" and "ZIP archive" in run.error
    assert run.rows == 0 and not AnnuaireEntry.objects.exists()
    entry = AuditEntry.objects.get(action="annuaire.imported")
    assert entry.outcome == "failure" and "ZIP archive" in entry.details["error"]


# --- bad lines: rejected with number and reason, the rest imported ------------------------------
def test_bad_lines_are_rejected_with_number_and_reason_and_nothing_is_lost(db):
    bad_key = GOOD_RPPS[:-1] + str((int(GOOD_RPPS[-1]) + 1) % 10)
    lines = [
        DATA_LINES[0],                                    # 2: fine
        DATA_LINES[1].removesuffix("|").rsplit("|", 1)[0] + "|",  # 3: one field short
        DATA_LINES[2] + "extra|",                         # 4: one field too many
        rpps_line(bad_key, "MARTIN"),                     # 5: RPPS key wrong
        "",                                               # 6: empty
        line(**{"Type d'identifiant PP": "5"}),           # 7: unknown type
        line(**{"Identification nationale PP": "8" + GOOD_RPPS}),  # 8: national id of someone else
        rpps_line(GOOD_RPPS, ""),                         # 9: no family name
        DATA_LINES[0].replace("JOLY", "JO\x00LY"),        # 10: binary
        line(base=DATA_LINES[0], **{"Identifiant PP": "0100"}),  # 11: ADELI too short
        rpps_line(GOOD_RPPS, "X" * 151),                  # 12: name too long for the database
        DATA_LINES[3],                                    # 13: fine
    ]  # fmt: skip
    run = do_import_annuaire(stream(extraction(*lines)), file_name="mixed.txt")
    reasons = {r["line"]: r["reason"] for r in run.rejected_lines}
    assert run.rows + run.rejected == len(lines)
    assert sorted(AnnuaireEntry.objects.values_list("line", flat=True)) == [2, 13]
    assert reasons == {
        3: "52 fields expected, 51 found.",
        4: "52 fields expected, 53 found.",
        5: f"Invalid RPPS number “{bad_key}”: This RPPS number's check key is wrong: check for a typing error.",
        6: "Empty line.",
        7: "Unknown identifier type “5” (8 is RPPS, 0 is ADELI).",
        8: f"The national identifier “8{GOOD_RPPS}” is not 8 followed by “10106476764”.",
        9: "No family name (“Nom d'exercice”).",
        10: "Binary data in the line.",
        11: "Invalid ADELI number “0100”: 9 characters expected.",
        12: "“Nom d'exercice” is longer than 150 characters.",
    }
    assert run.status == "done" and AuditEntry.objects.get(action="annuaire.imported").details["rejected"] == 10


def test_a_huge_line_is_rejected_and_reading_goes_on():
    data = extraction(DATA_LINES[0], "y" * (3 * MAX_LINE_BYTES), DATA_LINES[1])
    _, rows, rejected = parse(data)
    assert [r.line for r in rows] == [2, 4]
    assert rejected == [Rejection(3, f"Line longer than {MAX_LINE_BYTES} bytes.")]


def test_a_line_cut_short_is_rejected():
    """Every official line ends with ``|``; one that does not was cut (an interrupted download)."""
    _, rows, rejected = parse(extraction(DATA_LINES[0], DATA_LINES[1][:40]))
    assert len(rows) == 1
    assert rejected == [Rejection(3, "The line does not end with “|” as the header does (cut short?).")]


def test_stored_rejections_are_capped_but_counted(db, monkeypatch):
    monkeypatch.setattr(AnnuaireImport, "MAX_STORED_REJECTIONS", 3)
    run = do_import_annuaire(stream(extraction(*["bad"] * 5)), file_name="bad.txt")
    assert (run.rejected, len(run.rejected_lines), run.rejected_lines_truncated) == (5, 3, True)


class ReadlineOnly:
    """A stream that only allows bounded ``readline``: the parser must not slurp the file."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.calls = 0

    def readline(self, limit: int = -1) -> bytes:
        assert 0 < limit <= MAX_LINE_BYTES + 1
        self.calls += 1
        return self._data.readline(limit)


def test_the_file_is_streamed_line_by_line():
    source = ReadlineOnly(SAMPLE_BYTES)
    assert len(list(open_extraction(source))) == 22  # type: ignore[arg-type]
    assert source.calls == 24  # header, 22 lines, end of file


# --- management command --------------------------------------------------------------------------
def test_command_prints_counts_and_rejections(db, tmp_path):
    path = tmp_path / "PS_LibreAcces_Personne_activite_test.txt"
    path.write_bytes(SAMPLE_BYTES + b"too|few|fields|\n")
    out = io.StringIO()
    call_command("import_annuaire", str(path), stdout=out)
    run = AnnuaireImport.objects.get()
    assert run.structure is None and run.imported_by is None
    assert out.getvalue().splitlines() == [
        f"import #{run.pk}: 22 lines imported, 22 people, 1 rejected",
        "line 24: 52 fields expected, 3 found.",
    ]


def test_command_fails_clearly_on_a_wrong_file(db, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello|world|\n", encoding="utf-8")
    with pytest.raises(CommandError, match="the header has no column “Type d'identifiant PP”"):
        call_command("import_annuaire", str(path), stdout=io.StringIO())
    with pytest.raises(CommandError, match="cannot open"):
        call_command("import_annuaire", str(tmp_path / "missing.txt"), stdout=io.StringIO())


# --- family names --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("typed", "annuaire", "same"),
    [
        ("Lefèvre", "LEFEVRE", True),
        ("Le Gall", "LE-GALL", True),
        ("N'Diaye", "N DIAYE", True),
        ("Cœur", "COEUR", True),
        ("  Martin ", "MARTIN", True),
        ("Martin", "MARTINS", False),
        ("Le Fèvre", "LEFEVRE", False),
        ("", "", False),
    ],
)
def test_family_names_compare_without_case_accents_or_punctuation(typed, annuaire, same):
    assert same_family_name(typed, annuaire) is same
