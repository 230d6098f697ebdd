"""The drafts generated from an incident (issue 17, item 8): the CNIL notification with the fields
of GDPR art. 33(3), the health-sector report to the ARS / CERT Santé (``ars_fields``), and for
each patient concerned the art. 34 letter in plain French.

Read-only: the texts are built from the incident and its scope at the time they are shown, so a
draft always says what the register says. The letter names the patient (decrypted here, at read
time): only its reader — the patient, or an officer who opened it, audited — sees it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from reportlab.platypus import Spacer

from cordee.audit.models import AuditEntry
from cordee.security import pdf
from cordee.security.clock import DEADLINE
from cordee.security.models import BreachNotice, Incident
from cordee.security.services.containment import measure_words
from cordee.security.services.scoping import CATEGORIES, category_labels, reasoning
from cordee.vault.errors import VaultError


def _when(value: dt.datetime | None, missing: str = "") -> str:
    if value is None:
        return missing or _("not yet")
    return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")


def _or_unknown(text: str) -> str:
    return text.strip() or _("(to be completed)")


def _people(incident: Incident) -> str:
    scope = incident.scope or {}
    if scope.get("totals"):
        totals = scope["totals"]
        return ngettext(
            "%(p)s patient, %(r)s records (computed from the audit trail)",
            "%(p)s patients, %(r)s records (computed from the audit trail)",
            totals["patients"],
        ) % {"p": totals["patients"], "r": totals["records"]}
    if incident.people_count is not None:
        return _("about %(p)s people, about %(r)s records") % {
            "p": incident.people_count,
            "r": incident.records_count if incident.records_count is not None else "?",
        }
    return _("(to be completed)")


def _categories(incident: Incident) -> str:
    labels = category_labels()
    found = [labels[c] for c in CATEGORIES if c in (incident.scope or {}).get("by_category", {})]
    words = "; ".join(part for part in [incident.data_categories.strip(), ", ".join(found)] if part)
    return words or _("(to be completed)")


def cnil_fields(incident: Incident) -> list[tuple[str, str]]:
    """The notification to the CNIL, field by field (art. 33(3) (a) to (d), and the timeline)."""
    late = (incident.notified_at or timezone.now()) > incident.aware_at + DEADLINE
    fields = [
        (_("Controller"), incident.structure_name),
        (_("(a) Nature of the breach"), _or_unknown(incident.nature)),
        (_("(a) Categories of data concerned"), _categories(incident)),
        (_("(a) Approximate number of people and of records concerned"), _people(incident)),
        (_("(b) Contact point (data protection officer)"), _or_unknown(incident.contact)),
        (_("(c) Likely consequences"), _or_unknown(incident.consequences)),
        (_("(d) Measures taken"), _or_unknown(incident.measures_taken)),
        (_("(d) Measures proposed, including to mitigate the effects"), _or_unknown(incident.measures_proposed)),
        (
            _("Timeline"),
            _("Breach began: %(o)s. Became aware: %(a)s. Contained: %(c)s.")
            % {
                "o": _when(incident.occurred_at, _("unknown")),
                "a": _when(incident.aware_at),
                "c": _when(incident.contained_at),
            },
        ),
        (_("Information of the patients (art. 34)"), incident.get_patients_decision_display()),
        (_("Its reasoning"), _or_unknown(incident.patients_reasoning)),
    ]
    said = reasoning(incident.scope) if incident.scope else []
    if said:
        fields.append((_("Scoping"), " ".join(said)))
    if late:
        fields.append(
            (_("Reasons for the delay (art. 33(1))"), _("More than 72 hours after awareness: give the reasons."))
        )
    return fields


def cnil_pdf(incident: Incident) -> bytes:
    styles = pdf.styles()
    story: list[Any] = [
        pdf.p(_("Draft notification of a personal data breach to the CNIL"), styles.title),
        pdf.p(
            _("Incident %(n)s — GDPR art. 33. To be filed on the CNIL's online service.") % {"n": incident.pk},
            styles.body,
        ),
    ]
    for label, text in cnil_fields(incident):
        story += [pdf.p(label, styles.heading), pdf.p(text, styles.body)]
    return pdf.build(story, title=_("Notification to the CNIL"))


def _containment(incident: Incident) -> str:
    """What the audit trail says was done to contain it (the containment card's entries)."""
    done = AuditEntry.objects.filter(
        action="security.containment", target_type="security.incident", target_id=str(incident.pk)
    ).order_by("seq")
    words = measure_words()
    lines = []
    for entry in done:
        actions = ", ".join(str(words.get(action, action)) for action in entry.details.get("actions", []))
        accounts = len(entry.details.get("accounts", []))
        line = _("%(when)s: %(actions)s") % {"when": _when(entry.created_at), "actions": actions}
        if accounts:
            line += " " + ngettext("(%(n)s account)", "(%(n)s accounts)", accounts) % {"n": accounts}
        lines.append(line)
    return "\n".join(lines)


def _causes(incident: Incident) -> str:
    kinds = sorted({str(alert.get_kind_display()) for alert in incident.alerts.all()})
    if not kinds:
        return _("(to be completed: not identified yet)")
    return _("Detected by Cordée's intrusion detection: %(kinds)s.") % {"kinds": "; ".join(kinds)}


def ars_fields(incident: Incident) -> list[tuple[str, str]]:
    """The report of a serious information-system security incident (CSP art. L. 1111-8-2), made on
    the national portal of adverse health events for the ARS and the CERT Santé. Its sections follow
    the form annexed to the arrêté of 30 October 2017 (identification, description, impacts, causes)."""
    scope = incident.scope or {}
    totals = scope.get("totals") or {}
    accounts = len(scope.get("accounts", []))
    perimeter = _("%(n)s compromised account(s) in Cordée between %(start)s and %(end)s.") % {
        "n": accounts,
        "start": _when(dt.datetime.fromisoformat(scope["start"])) if scope.get("start") else "?",
        "end": _when(dt.datetime.fromisoformat(scope["end"])) if scope.get("end") else "?",
    }
    if scope.get("dump"):
        perimeter += " " + (
            _("A copy of the database was taken, with the vault key.")
            if scope.get("key_exposed")
            else _("A copy of the database was taken, without the vault key (encrypted data only).")
        )
    containment = _containment(incident)
    state = (
        _("Contained on %(c)s.") % {"c": _when(incident.contained_at)}
        if incident.contained_at
        else _("Being handled: not contained yet.")
    )
    return [
        (_("1. Structure concerned"), incident.structure_name),
        (_("1. Declarant (name, function, contact)"), _or_unknown(incident.contact)),
        (_("2. Date and time the incident was found"), _when(incident.aware_at)),
        (_("2. Date the incident began"), _when(incident.occurred_at, _("unknown"))),
        (_("2. Description of the incident"), _or_unknown(incident.nature)),
        (_("2. Perimeter"), perimeter if scope else _("(to be completed: run the scoping)")),
        (
            _("2. Information systems and data concerned"),
            _("Cordée (secure workspace of the health professionals): %(c)s") % {"c": _categories(incident)},
        ),
        (_("2. State of handling"), "\n".join(part for part in (state, containment) if part)),
        (
            _("3. Impact on the data"),
            _("Confidentiality: %(people)s. Integrity and availability: no alteration shown by the audit trail%(v)s.")
            % {
                "people": _people(incident),
                "v": "" if scope.get("audit_verified", True) else _(" (which failed its verification)"),
            },
        ),
        (_("3. Impact on the people (patients, professionals)"), _or_unknown(incident.consequences)),
        (
            _("3. Impact on the information systems and on the structure"),
            _("Care goes on; measures taken: %(m)s") % {"m": _or_unknown(incident.measures_taken)},
        ),
        (_("3. Patients concerned"), str(totals.get("patients", _("(to be completed)")))),
        (_("4. Causes, if identified"), _causes(incident)),
        (_("Measures proposed"), _or_unknown(incident.measures_proposed)),
    ]


def ars_pdf(incident: Incident) -> bytes:
    styles = pdf.styles()
    story: list[Any] = [
        pdf.p(_("Draft report of a serious information-system security incident"), styles.title),
        pdf.p(
            _(
                "Incident %(n)s — CSP art. L. 1111-8-2, form of the arrêté of 30 October 2017. To be filed on "
                "the portal of adverse health events (signalement.social-sante.gouv.fr) for the ARS and the "
                "CERT Santé."
            )
            % {"n": incident.pk},
            styles.body,
        ),
    ]
    for label, text in ars_fields(incident):
        story += [pdf.p(label, styles.heading), pdf.p(text, styles.body)]
    return pdf.build(story, title=_("Report to the ARS / CERT Santé"))


def patient_name(notice: BreachNotice) -> str:
    try:
        return notice.patient.display_name
    except VaultError:
        return _("erased patient")


def letter(notice: BreachNotice) -> list[tuple[str, str]]:
    """The art. 34 letter to one patient, in plain words: what happened, what data, the likely
    consequences, what was done, whom to contact."""
    incident = notice.incident
    labels = category_labels()
    reached = [labels[c] for c in CATEGORIES if c in notice.categories]
    return [
        (
            _("What happened"),
            _(
                "On %(date)s, %(structure)s found that your personal data kept in Cordée, its secure "
                "workspace, may have been seen by someone who had no right to. %(nature)s"
            )
            % {"date": _when(incident.aware_at), "structure": incident.structure_name, "nature": incident.nature},
        ),
        (
            _("Which of your data"),
            ", ".join(reached) if reached else _("Your data in Cordée."),
        ),
        (
            _("What it may mean for you"),
            incident.consequences.strip()
            or _("Someone may know information about your health care. Be wary of unexpected messages or calls."),
        ),
        (
            _("What was done"),
            "\n".join(part for part in (incident.measures_taken.strip(), incident.measures_proposed.strip()) if part)
            or _("The access was stopped and the accounts involved were secured."),
        ),
        (_("Whom to contact"), _or_unknown(incident.contact)),
    ]


def letter_pdf(notice: BreachNotice) -> bytes:
    styles = pdf.styles()
    story: list[Any] = [
        pdf.p(_("Information about your personal data"), styles.title),
        pdf.p(_("To: %(name)s") % {"name": patient_name(notice)}, styles.body),
        pdf.p(_("From: %(structure)s") % {"structure": notice.incident.structure_name}, styles.body),
        Spacer(1, 3),
    ]
    for heading, text in letter(notice):
        story += [pdf.p(heading, styles.heading), pdf.p(text, styles.body)]
    story.append(pdf.p(_("This letter is sent under article 34 of the GDPR."), styles.body))
    return pdf.build(story, title=_("Information about your personal data"))
