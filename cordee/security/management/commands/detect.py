"""``manage.py detect --since 2026-12-01 [--until 2026-12-02T08:00]``: the detection rules over a
past period of the audit trail (the worker runs them continuously from its cursor). Bursts already
alerted are added to their alerts, not raised twice; the run itself is audited."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from cordee.security.services import do_detect_period


def _when(raw: str) -> dt.datetime:
    moment = parse_datetime(raw)
    if moment is None:
        day = parse_date(raw)
        if day is None:
            raise CommandError(f"not a date or date-time: {raw!r}")
        moment = dt.datetime.combine(day, dt.time())
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


class Command(BaseCommand):
    help = "Run the intrusion detection rules over a past period of the audit trail."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", required=True, help="start of the period (date or ISO date-time)")
        parser.add_argument("--until", help="end of the period (default: now)")

    def handle(self, *args: Any, **options: Any) -> None:
        start = _when(options["since"])
        end = _when(options["until"]) if options["until"] else None
        if end is not None and end < start:
            raise CommandError("--until comes before --since")
        outcome = do_detect_period(start, end)
        self.stdout.write(str(outcome))
