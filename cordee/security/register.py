"""The breach register as CSV and PDF (RGPD art. 33(5): kept, and shown to the CNIL on request).

Read-only: the rows of ``access.incidents_for``. The PDF uses ReportLab as ``care/pdf.py`` does
(Vera fonts embedded, every string escaped).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable

from django.utils import formats, timezone
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.platypus import LongTable, Spacer, TableStyle

from cordee.security import pdf
from cordee.security.clock import clock
from cordee.security.models import Incident


def when(value: dt.datetime | None) -> str:
    return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT") if value else ""


def _columns() -> list[str]:
    return [
        _("Number"),
        _("Structure"),
        _("Title"),
        _("Nature"),
        _("Data concerned"),
        _("People"),
        _("Records"),
        _("Consequences"),
        _("Measures taken"),
        _("Measures proposed"),
        _("Breach began"),
        _("Became aware"),
        _("Contained"),
        _("Notified to the CNIL"),
        _("72-hour clock"),
        _("CNIL decision"),
        _("Reasoning"),
        _("Patients decision"),
        _("Reasoning"),
    ]


def _people(incident: Incident) -> str:
    scoped = incident.scope.get("totals", {}).get("patients") if incident.scope else None
    value = scoped if scoped is not None else incident.people_count
    return "" if value is None else str(value)


def _records(incident: Incident) -> str:
    scoped = incident.scope.get("totals", {}).get("records") if incident.scope else None
    value = scoped if scoped is not None else incident.records_count
    return "" if value is None else str(value)


def row(incident: Incident, now: dt.datetime) -> list[str]:
    return [
        str(incident.pk),
        incident.structure_name,
        incident.title,
        incident.nature,
        incident.data_categories,
        _people(incident),
        _records(incident),
        incident.consequences,
        incident.measures_taken,
        incident.measures_proposed,
        when(incident.occurred_at),
        when(incident.aware_at),
        when(incident.contained_at),
        when(incident.notified_at),
        clock(incident, now).text,
        incident.get_cnil_decision_display(),
        incident.cnil_reasoning,
        incident.get_patients_decision_display(),
        incident.patients_reasoning,
    ]


def _safe(cell: str) -> str:
    """A cell a spreadsheet will not run as a formula (CSV injection)."""
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell


def register_csv(incidents: Iterable[Incident], now: dt.datetime) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(_columns())
    for incident in incidents:
        writer.writerow([_safe(cell) for cell in row(incident, now)])
    return out.getvalue()


_PDF_COLUMNS = (0, 2, 3, 5, 6, 11, 12, 13, 14, 15, 17)  # what fits a landscape page


def register_pdf(incidents: list[Incident], now: dt.datetime) -> bytes:
    styles = pdf.styles()
    header = _columns()
    data = [[pdf.p(header[i], styles.cell) for i in _PDF_COLUMNS]]
    for incident in incidents:
        cells = row(incident, now)
        data.append([pdf.p(cells[i], styles.cell) for i in _PDF_COLUMNS])
    table = LongTable(data, repeatRows=1, colWidths=[12 * mm, 30 * mm, 52 * mm, 14 * mm, 14 * mm] + [24 * mm] * 6)
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e6ecee")),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#c9d3d6")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story = [
        pdf.p(_("Register of personal data breaches (GDPR art. 33(5))"), styles.title),
        pdf.p(_("Produced on %(date)s.") % {"date": when(now)}, styles.body),
        Spacer(1, 4 * mm),
        table if incidents else pdf.p(_("No incident in the register."), styles.body),
    ]
    return pdf.build(story, title=_("Breach register"), pagesize=landscape(A4))
