"""Intrusion detection: rules over the audit trail that find bursts worth an officer's look.

The worker's job ``security.detect`` reads the entries written since its cursor (``DetectionCursor``)
in batches; ``manage.py detect --since …`` reads a past period. Each rule looks at a batch, asks the
trail for the context it needs (the same subjects' entries in its window before the batch), and
returns findings: a kind, a subject, a severity, figures and the entries that are the evidence.
``services.detections.do_raise_finding`` turns a finding into an alert, or adds it to the alert of
the same burst (same rule and subject, within the rule's window). What each rule catches and misses
is in docs/security.md; thresholds and windows are settings (``DETECT_*``).

Rows are dicts of ``FIELDS`` (no ``details``, no display copies): the rules never read names.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from cordee.audit.models import AuditEntry
from cordee.security import networks

Row = dict[str, Any]
FIELDS = (
    "seq",
    "created_at",
    "action",
    "outcome",
    "actor_id",
    "target_type",
    "target_id",
    "patient_id",
    "purpose",
    "ip",
    "user_agent",
)
BATCH = 5000

# The actions each rule reads (the real names: grep ``audit.record(`` across cordee/).
LOGIN_FAILED = "login.failed"
# A refused STOW-RS bearer token (cordee.imaging) is a failed authentication too: counted per address.
FAILED_AUTHENTICATIONS = (LOGIN_FAILED, "imaging.sender.refused")
LOGIN_SUCCESS = "login.success"
PATIENT_READS = ("patient.read", "document.read", "conversation.read")
LIST_PURPOSES = ("patient.list", "patient.search")  # a list shows many names: not an opening
DOWNLOADS = ("document.downloaded", "record.exported", "patient.export")
BREAK_GLASS = "care.break_glass"
PRIVILEGES = (
    "membership.role_changed",
    "membership.security_officer_changed",
    "identity.verified",
    "staff.acts_for_changed",
    "account.modules_changed",
)
FACTOR_REMOVED = ("mfa.removed", "mfa.reset")
# Entries of the detection itself and of the system: never a user's activity.
QUIET_PREFIXES = ("security.", "audit.")

LOW, MEDIUM, HIGH = 1, 2, 3


@dataclass
class Finding:
    kind: str
    severity: int
    subject: str  # the dedup subject: "account:<e-mail>", "ip:<address>", "user:<id>"…
    rows: list[Row]
    window: dt.timedelta  # findings of one subject closer than this are one burst
    figures: dict[str, Any] = field(default_factory=dict)
    users: set[int] = field(default_factory=set)  # accounts whose structures' officers see it
    emails: set[str] = field(default_factory=set)  # accounts named only by the e-mail typed

    @property
    def seqs(self) -> list[int]:
        return sorted(row["seq"] for row in self.rows)

    @property
    def first_seen(self) -> dt.datetime:
        return min(row["created_at"] for row in self.rows)

    @property
    def last_seen(self) -> dt.datetime:
        return max(row["created_at"] for row in self.rows)


def _seconds(name: str) -> Callable[[], dt.timedelta]:
    return lambda: dt.timedelta(seconds=getattr(settings, name))


def _setting(name: str) -> Callable[[], int]:
    return lambda: int(getattr(settings, name))


@dataclass(frozen=True)
class WindowRule:
    """``threshold`` entries (or distinct ``distinct`` values) of one subject within ``window``."""

    kind: str
    severity: int
    actions: tuple[str, ...]
    subject_field: str  # the column that names the subject
    threshold: Callable[[], int]
    window: Callable[[], dt.timedelta]
    distinct: str = ""  # count distinct values of this column instead of entries
    outcome: str = ""  # only entries of this outcome
    exclude_purposes: tuple[str, ...] = ()

    def _keep(self, row: Row) -> bool:
        return (
            row["action"] in self.actions
            and row[self.subject_field] not in (None, "")
            and (not self.outcome or row["outcome"] == self.outcome)
            and row["purpose"] not in self.exclude_purposes
            and (not self.distinct or row[self.distinct] not in (None, ""))
        )

    def scan(self, batch: list[Row], head: int) -> list[Finding]:
        new = [row for row in batch if self._keep(row)]
        if not new:
            return []
        window, threshold = self.window(), self.threshold()
        subjects = {row[self.subject_field] for row in new}
        context = AuditEntry.objects.filter(
            action__in=self.actions,
            created_at__gte=min(row["created_at"] for row in new) - window,
            created_at__lte=max(row["created_at"] for row in new),
            seq__lte=head,
            **{f"{self.subject_field}__in": subjects},
        )
        if self.outcome:
            context = context.filter(outcome=self.outcome)
        by_subject: dict[Any, list[Row]] = {}
        for row in context.values(*FIELDS):
            if self._keep(row):
                by_subject.setdefault(row[self.subject_field], []).append(row)
        batch_seqs = {row["seq"] for row in new}
        findings = []
        for subject, rows in by_subject.items():
            rows.sort(key=lambda row: (row["created_at"], row["seq"]))
            for burst, measure in _bursts(rows, window, threshold, self.distinct):
                if batch_seqs.isdisjoint(row["seq"] for row in burst):
                    continue  # found by an earlier run already
                findings.append(self._finding(subject, burst, measure, threshold, window))
        return findings

    def _finding(self, subject: Any, rows: list[Row], measure: int, threshold: int, window: dt.timedelta) -> Finding:
        figures = {
            "count": len(rows),
            "measure": measure,
            "threshold": threshold,
            "window": int(window.total_seconds()),
        }
        finding = Finding(self.kind, self.severity, f"{self.subject_field}:{subject}", rows, window, figures)
        if self.subject_field == "actor_id":
            finding.users.add(int(subject))
        elif self.subject_field == "target_id":
            finding.emails.add(str(subject))
        else:  # an address: the accounts it tried
            finding.emails.update(str(row["target_id"]) for row in rows if row["target_id"])
            finding.users.update(row["actor_id"] for row in rows if row["actor_id"])
        return finding


def _bursts(rows: list[Row], window: dt.timedelta, threshold: int, distinct: str) -> Iterator[tuple[list[Row], int]]:
    """Maximal runs of overlapping windows that reach ``threshold``: one burst each, with its
    peak measure (entries, or distinct values of ``distinct``, in one window)."""
    counts: Counter[Any] = Counter()
    start = 0
    burst: tuple[int, int] | None = None
    peak = 0
    for end, row in enumerate(rows):
        counts[row[distinct] if distinct else end] += 1
        while row["created_at"] - rows[start]["created_at"] > window:
            key = rows[start][distinct] if distinct else start
            counts[key] -= 1
            if not counts[key]:
                del counts[key]
            start += 1
        measure = len(counts)
        if measure < threshold:
            continue
        if burst is not None and start <= burst[1]:
            burst, peak = (burst[0], end), max(peak, measure)
        else:
            if burst is not None:
                yield rows[burst[0] : burst[1] + 1], peak
            burst, peak = (start, end), measure
    if burst is not None:
        yield rows[burst[0] : burst[1] + 1], peak


@dataclass(frozen=True)
class EachRule:
    """Every entry of these actions is a finding (privilege changes, a factor removed)."""

    kind: str
    severity: int
    actions: tuple[str, ...]
    window: dt.timedelta = dt.timedelta(hours=1)

    def scan(self, batch: list[Row], head: int) -> list[Finding]:
        findings = []
        for row in batch:
            if row["action"] not in self.actions or row["outcome"] != AuditEntry.Outcome.SUCCESS:
                continue
            subject = f"{row['target_type']}:{row['target_id']}" if row["target_id"] else f"actor_id:{row['actor_id']}"
            finding = Finding(
                self.kind, self.severity, subject, [row], self.window, {"count": 1, "action": row["action"]}
            )
            if row["actor_id"]:
                finding.users.add(row["actor_id"])
            if row["target_type"] == "accounts.user" and str(row["target_id"]).isdigit():
                finding.users.add(int(row["target_id"]))
            findings.append(finding)
        return findings


class _History:
    """What the trail knows of each account before a batch: whether it has any entry from an
    address, and whether it used a given address or user agent. Each answer is one indexed
    ``EXISTS`` (on ``actor_id``), asked once per account and value in the batch, then learnt from
    the batch itself: a whole-history read per batch would grow with the trail."""

    def __init__(self, first: int, since: dt.datetime) -> None:
        self.first, self.since = first, since
        self.known: dict[tuple[int, str, str], bool] = {}
        self.any: dict[int, bool] = {}

    def _entries(self, actor: int) -> Any:
        return AuditEntry.objects.filter(
            actor_id=actor, seq__lt=self.first, created_at__gte=self.since, ip__isnull=False
        )

    def has_any(self, actor: int) -> bool:
        if actor not in self.any:
            self.any[actor] = self._entries(actor).exists()
        return self.any[actor]

    def knows(self, actor: int, column: str, value: str) -> bool:
        key = (actor, column, value)
        if key not in self.known:
            self.known[key] = self.has_any(actor) and self._entries(actor).filter(**{column: value}).exists()
        return self.known[key]

    def learn(self, actor: int, ip: str, agent: str) -> None:
        self.any[actor] = True
        self.known[(actor, "ip", ip)] = self.known[(actor, "user_agent", agent)] = True


@dataclass(frozen=True)
class NewAddressRule:
    """An account used from an address or browser it never used in its history (``DETECT_NEW_ADDRESS_
    HISTORY_DAYS``): a sign-in from them is MEDIUM; activity from a new address with no sign-in
    there (a session carried elsewhere) is HIGH. An account with no history has nothing to compare."""

    kind: str = "new_address"
    window: dt.timedelta = dt.timedelta(days=1)

    def scan(self, batch: list[Row], head: int) -> list[Finding]:
        rows = [
            row
            for row in batch
            if row["actor_id"]
            and row["ip"]
            and not row["action"].startswith(QUIET_PREFIXES)
            and row["action"] != "logout"
        ]
        if not rows:
            return []
        since = min(row["created_at"] for row in rows) - dt.timedelta(days=settings.DETECT_NEW_ADDRESS_HISTORY_DAYS)
        history = _History(min(row["seq"] for row in batch), since)
        findings: dict[tuple[int, str], Finding] = {}
        for row in sorted(rows, key=lambda row: row["seq"]):
            actor, ip, agent = row["actor_id"], row["ip"], row["user_agent"]
            known_ip, known_agent = history.knows(actor, "ip", ip), history.knows(actor, "user_agent", agent)
            if history.has_any(actor) and not (known_ip and known_agent):
                key = (actor, ip)
                if key in findings:
                    findings[key].rows.append(row)
                    continue
                signed_in = row["action"] == LOGIN_SUCCESS
                figures = {
                    "count": 1,
                    "new_address": not known_ip,
                    "new_browser": not known_agent,
                    "signed_in": signed_in,
                }
                severity = MEDIUM if signed_in else HIGH
                if not signed_in and known_ip:
                    severity = MEDIUM  # a new browser on a known address, already signed in
                findings[key] = Finding(self.kind, severity, f"actor_id:{actor}:{ip}", [row], self.window, figures)
                findings[key].users.add(actor)
                continue
            history.learn(actor, ip, agent)
        for finding in findings.values():
            finding.figures["count"] = len(finding.rows)
            del finding.rows[50:]  # the first entries from there are the evidence
        return list(findings.values())


def _hour(at: dt.datetime) -> int:
    return timezone.localtime(at).hour


def _near(hour: int, known: int, margin: int) -> bool:
    gap = abs(hour - known)
    return min(gap, 24 - gap) <= margin


@dataclass(frozen=True)
class UnusualHoursRule:
    """A sign-in at an hour of the day (local time) that the account's profile does not know: no
    sign-in of its last ``DETECT_HOURS_HISTORY_DAYS`` within ``DETECT_HOURS_MARGIN`` hours of it.
    The profile is learnt from the trail (its ``login.success`` entries), and only judged once it
    holds ``DETECT_HOURS_MIN_SIGNINS`` sign-ins: a new account raises nothing."""

    kind: str = "unusual_hours"
    window: dt.timedelta = dt.timedelta(hours=6)

    def scan(self, batch: list[Row], head: int) -> list[Finding]:
        rows = [row for row in batch if row["action"] == LOGIN_SUCCESS and row["actor_id"]]
        if not rows:
            return []
        first = min(row["seq"] for row in batch)
        days, minimum = settings.DETECT_HOURS_HISTORY_DAYS, settings.DETECT_HOURS_MIN_SIGNINS
        margin = settings.DETECT_HOURS_MARGIN
        rows.sort(key=lambda row: row["seq"])
        # Each account's profile: its sign-ins of the ``days`` before its first one in the batch,
        # read for all the batch's accounts in one query.
        cutoffs: dict[int, dt.datetime] = {}
        for row in rows:
            cutoffs.setdefault(row["actor_id"], row["created_at"] - dt.timedelta(days=days))
        profiles: dict[int, list[int]] = {actor: [] for actor in cutoffs}
        past = AuditEntry.objects.filter(
            action=LOGIN_SUCCESS, actor_id__in=list(cutoffs), seq__lt=first, created_at__gte=min(cutoffs.values())
        ).order_by("seq")
        for actor, at in past.values_list("actor_id", "created_at"):
            if actor is not None and at >= cutoffs[actor]:  # (never None: filtered by actor_id__in)
                profiles[actor].append(_hour(at))
        findings: dict[int, Finding] = {}
        for row in rows:
            actor = row["actor_id"]
            known, hour = profiles[actor], _hour(row["created_at"])
            if len(known) >= minimum and not any(_near(hour, seen, margin) for seen in known):
                if actor in findings:
                    findings[actor].rows.append(row)
                else:
                    figures = {"count": 1, "hour": hour, "signins": len(known), "usual": sorted(set(known))}
                    findings[actor] = Finding(self.kind, MEDIUM, f"actor_id:{actor}", [row], self.window, figures)
                    findings[actor].users.add(actor)
            known.append(hour)
        for finding in findings.values():
            finding.figures["count"] = len(finding.rows)
        return list(findings.values())


@dataclass(frozen=True)
class TwoPlacesRule:
    """One account active from two distant networks at once: its entries switch from one network
    to another (``networks.distant``) at least ``DETECT_TWO_PLACES_SWITCHES`` times within
    ``DETECT_TWO_PLACES_WINDOW`` — the back and forth of two browsers sharing a session or an
    account (A, then B, then A again). With a country database, the countries are in the figures.
    The trail has no session id: it is the account that is seen in two places."""

    kind: str = "two_places"

    def scan(self, batch: list[Row], head: int) -> list[Finding]:
        rows = [row for row in batch if row["actor_id"] and row["ip"] and not row["action"].startswith(QUIET_PREFIXES)]
        if not rows:
            return []
        window = dt.timedelta(seconds=settings.DETECT_TWO_PLACES_WINDOW)
        needed = settings.DETECT_TWO_PLACES_SWITCHES
        # The batch itself, and the same accounts' entries of the window before it (not re-read).
        before = AuditEntry.objects.filter(
            actor_id__in={row["actor_id"] for row in rows},
            ip__isnull=False,
            created_at__gte=min(row["created_at"] for row in rows) - window,
            created_at__lte=max(row["created_at"] for row in rows),
            seq__lt=min(row["seq"] for row in batch),
        )
        by_actor: dict[int, list[Row]] = {}
        for row in [*before.values(*FIELDS), *rows]:
            if not row["action"].startswith(QUIET_PREFIXES):
                by_actor.setdefault(row["actor_id"], []).append(row)
        batch_seqs = {row["seq"] for row in rows}
        findings = []
        for actor, entries in by_actor.items():
            entries.sort(key=lambda row: (row["created_at"], row["seq"]))
            switches = [
                (before, after)
                for before, after in zip(entries, entries[1:], strict=False)
                if networks.distant(before["ip"], after["ip"])
            ]
            group: list[tuple[Row, Row]] = []
            for switch in [*switches, None]:
                if switch is not None and (not group or switch[1]["created_at"] - group[-1][1]["created_at"] <= window):
                    group.append(switch)
                    continue
                if len(group) >= needed:
                    evidence = {row["seq"]: row for pair in group for row in pair}
                    if not batch_seqs.isdisjoint(evidence):
                        findings.append(self._finding(actor, list(evidence.values()), len(group), window))
                group = [switch] if switch is not None else []
        return findings

    def _finding(self, actor: int, rows: list[Row], switches: int, window: dt.timedelta) -> Finding:
        rows.sort(key=lambda row: row["seq"])
        places = sorted({networks.network(row["ip"]) for row in rows})
        figures: dict[str, Any] = {"count": len(rows), "switches": switches, "networks": len(places)}
        countries = sorted({networks.country(row["ip"]) for row in rows} - {""})
        if countries:
            figures["countries"] = countries
        finding = Finding(self.kind, HIGH, f"actor_id:{actor}", rows[:50], window, figures)
        finding.users.add(actor)
        return finding


@dataclass(frozen=True)
class NewCountryRule:
    """A sign-in from a country that none of the account's sign-ins of the last
    ``DETECT_NEW_ADDRESS_HISTORY_DAYS`` came from. Only with ``DETECT_COUNTRY_DATABASE``: without a
    country database this rule finds nothing."""

    kind: str = "new_country"
    window: dt.timedelta = dt.timedelta(days=1)

    def scan(self, batch: list[Row], head: int) -> list[Finding]:
        if not networks.has_countries():
            return []
        rows = [row for row in batch if row["action"] == LOGIN_SUCCESS and row["actor_id"] and row["ip"]]
        if not rows:
            return []
        first = min(row["seq"] for row in batch)
        days = settings.DETECT_NEW_ADDRESS_HISTORY_DAYS
        known: dict[int, set[str]] = {}
        findings: dict[tuple[int, str], Finding] = {}
        for row in sorted(rows, key=lambda row: row["seq"]):
            actor, place = row["actor_id"], networks.country(row["ip"])
            if not place:
                continue
            if actor not in known:
                addresses = AuditEntry.objects.filter(
                    action=LOGIN_SUCCESS,
                    actor_id=actor,
                    seq__lt=first,
                    ip__isnull=False,
                    created_at__gte=row["created_at"] - dt.timedelta(days=days),
                ).values_list("ip", flat=True)
                known[actor] = {networks.country(ip or "") for ip in set(addresses)} - {""}
            if known[actor] and place not in known[actor]:
                key = (actor, place)
                if key in findings:
                    findings[key].rows.append(row)
                    continue
                figures = {"count": 1, "country": place, "known": sorted(known[actor])}
                findings[key] = Finding(self.kind, HIGH, f"actor_id:{actor}:{place}", [row], self.window, figures)
                findings[key].users.add(actor)
                continue
            known[actor].add(place)
        return list(findings.values())


IMPORTS = ("annuaire.imported", "drugs.import.finished")


def import_rows(details: dict[str, Any]) -> int | None:
    rows = details.get("rows")
    return rows if isinstance(rows, int) and rows >= 0 else None


@dataclass(frozen=True)
class ImportSizeRule:
    """An import (``annuaire.imported``, ``drugs.import.finished``) whose row count is more than
    ``DETECT_IMPORT_FACTOR`` times, or less than one ``DETECT_IMPORT_FACTOR``-th of, the median of
    the last ``DETECT_IMPORT_HISTORY`` successful imports of the same action, kind and structure —
    judged once there are ``DETECT_IMPORT_MIN_HISTORY`` of them. The only rule that reads
    ``details`` (the ``rows``, ``kind`` and ``structure`` keys of these actions)."""

    kind: str = "import_size"
    window: dt.timedelta = dt.timedelta(hours=1)

    def scan(self, batch: list[Row], head: int) -> list[Finding]:
        rows = [row for row in batch if row["action"] in IMPORTS and row["outcome"] == AuditEntry.Outcome.SUCCESS]
        if not rows:
            return []
        details = dict(AuditEntry.objects.filter(seq__in=[row["seq"] for row in rows]).values_list("seq", "details"))
        factor, minimum = settings.DETECT_IMPORT_FACTOR, settings.DETECT_IMPORT_MIN_HISTORY
        findings = []
        for row in rows:
            own = details.get(row["seq"]) or {}
            size = import_rows(own)
            if size is None:
                continue
            group = (own.get("structure"), own.get("kind"))
            earlier = AuditEntry.objects.filter(
                action=row["action"], outcome=AuditEntry.Outcome.SUCCESS, seq__lt=row["seq"]
            ).order_by("-seq")
            sizes = []
            for past in earlier.values_list("details", flat=True)[:200]:
                past = past or {}
                past_size = import_rows(past)
                if past_size is not None and (past.get("structure"), past.get("kind")) == group:
                    sizes.append(past_size)
                    if len(sizes) >= settings.DETECT_IMPORT_HISTORY:
                        break
            if len(sizes) < minimum:
                continue
            median = statistics.median(sizes)
            if size > median * factor or size * factor < median:
                figures = {"count": 1, "rows": size, "median": median, "factor": factor, "history": len(sizes)}
                subject = f"{row['target_type']}:{row['target_id']}"
                finding = Finding(self.kind, MEDIUM, subject, [row], self.window, figures)
                if row["actor_id"]:
                    finding.users.add(row["actor_id"])
                findings.append(finding)
        return findings


Rule = WindowRule | EachRule | NewAddressRule | UnusualHoursRule | TwoPlacesRule | NewCountryRule | ImportSizeRule

RULES: list[Rule] = [
    WindowRule(
        "failed_logins_account",
        MEDIUM,
        (LOGIN_FAILED,),
        "target_id",
        _setting("DETECT_FAILED_LOGINS_ACCOUNT"),
        _seconds("DETECT_FAILED_LOGINS_WINDOW"),
    ),
    WindowRule(
        "failed_logins_address",
        MEDIUM,
        FAILED_AUTHENTICATIONS,
        "ip",
        _setting("DETECT_FAILED_LOGINS_ADDRESS"),
        _seconds("DETECT_FAILED_LOGINS_WINDOW"),
    ),
    WindowRule(
        "password_spraying",
        HIGH,
        (LOGIN_FAILED,),
        "ip",
        _setting("DETECT_SPRAYING_ACCOUNTS"),
        _seconds("DETECT_SPRAYING_WINDOW"),
        distinct="target_id",
    ),
    NewAddressRule(),
    WindowRule(
        "mass_consultation",
        HIGH,
        PATIENT_READS,
        "actor_id",
        _setting("DETECT_MASS_PATIENTS"),
        _seconds("DETECT_MASS_WINDOW"),
        distinct="patient_id",
        outcome=AuditEntry.Outcome.SUCCESS,
        exclude_purposes=LIST_PURPOSES,
    ),
    WindowRule(
        "bulk_download",
        HIGH,
        DOWNLOADS,
        "actor_id",
        _setting("DETECT_BULK_DOWNLOADS"),
        _seconds("DETECT_BULK_WINDOW"),
        outcome=AuditEntry.Outcome.SUCCESS,
    ),
    WindowRule(
        "break_glass_repeated",
        MEDIUM,
        (BREAK_GLASS,),
        "actor_id",
        _setting("DETECT_BREAK_GLASS"),
        _seconds("DETECT_BREAK_GLASS_WINDOW"),
    ),
    EachRule("privilege_change", MEDIUM, PRIVILEGES),
    EachRule("mfa_removed", HIGH, FACTOR_REMOVED),
    UnusualHoursRule(),
    TwoPlacesRule(),
    NewCountryRule(),
    ImportSizeRule(),
]


def scan(batch: list[Row], head: int, rules: list[Rule] | None = None) -> list[Finding]:
    """The findings of every rule over one batch of rows (in ``seq`` order)."""
    return [finding for rule in rules or RULES for finding in rule.scan(batch, head)]


def batches(
    *, after: int = 0, head: int | None = None, start: dt.datetime | None = None, end: dt.datetime | None = None
) -> Iterator[tuple[list[Row], int]]:
    """The trail's rows after seq ``after`` (and within [start, end] if given), ``BATCH`` at a
    time, each with the head the rules may look up to."""
    entries = AuditEntry.objects.filter(purged_at__isnull=True)
    if start is not None:
        entries = entries.filter(created_at__gte=start)
    if end is not None:
        entries = entries.filter(created_at__lte=end)
    if head is None:
        head = entries.aggregate(head=Max("seq"))["head"] or 0
    while True:
        batch = list(entries.filter(seq__gt=after, seq__lte=head).order_by("seq").values(*FIELDS)[:BATCH])
        if not batch:
            return
        yield batch, head
        after = batch[-1]["seq"]
