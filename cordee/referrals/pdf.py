"""The referral letter as a PDF (ReportLab, docs/decisions/0002), in French, with the mandatory
identifications: the requester and the receiver (name, profession, RPPS), the patient (birth
names, given names, birth date, sex, INS when known), the date, the urgency, then the letter's
content. Fonts and escaping as in ``care.pdf`` (Vera fonts shipped with ReportLab, embedded)."""

from __future__ import annotations

import io

from django.utils import formats, timezone
from django.utils.translation import gettext as _
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import SimpleDocTemplate, Spacer

from cordee.care.pdf import _fonts, _p, _styles
from cordee.referrals.models import Referral, Urgency


def _who(display: dict[str, str]) -> str:
    parts = [display.get("name", ""), display.get("role", ""), f"RPPS {display['rpps']}" if display.get("rpps") else ""]
    return " · ".join(part for part in parts if part)


def letter(referral: Referral) -> bytes:
    _fonts()
    title, body, _cell = _styles()
    patient = referral.patient
    when = referral.sent_at or referral.created_at
    story = [
        _p(_("Referral letter"), title),
        _p(_("From: %(who)s") % {"who": _who(referral.requester_display)}, body),
        _p(_("To: %(who)s") % {"who": _who(referral.receiver_display)}, body),
        _p(_("Date: %(date)s") % {"date": formats.date_format(timezone.localtime(when), "SHORT_DATE_FORMAT")}, body),
        _p(_("Urgency: %(urgency)s") % {"urgency": Urgency(referral.urgency).label}, body),
        Spacer(1, 4 * mm),
        _p(
            _("Patient: %(names)s %(given)s, born on %(birth)s, sex %(sex)s")
            % {
                "names": patient.birth_name,
                "given": patient.birth_given_names,
                "birth": formats.date_format(patient.birth_date, "SHORT_DATE_FORMAT"),
                "sex": patient.sex,
            },
            body,
        ),
    ]
    if patient.ins:
        story.append(_p(_("INS: %(ins)s") % {"ins": patient.ins}, body))
    for label, text in (
        (_("Reason for the referral"), referral.reason),
        (_("Clinical summary"), referral.summary),
        (_("Current treatments"), referral.treatments),
        (_("Allergies"), referral.allergies),
        (_("Questions"), referral.questions),
    ):
        if text:
            story += [Spacer(1, 3 * mm), _p(str(label), body)]
            story += [_p(line, body) for line in str(text).splitlines() or [""]]
    story += [Spacer(1, 8 * mm), _p(_("Yours sincerely, %(name)s") % {"name": referral.requester_name}, body)]
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, title=_("Referral letter"), leftMargin=18 * mm, rightMargin=18 * mm)
    doc.build(story)
    return out.getvalue()
