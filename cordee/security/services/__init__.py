"""The security app's state changes: alerts (``alerts``), the breach register (``incidents``), its
scoping from the audit trail (``scoping``), the patients' notices (``notices``) and the 72-hour
reminders (``reminders``). Each ``do_*`` audits in its own transaction."""

from cordee.security.services.alerts import do_raise_break_glass_alerts, do_review_alert
from cordee.security.services.detections import do_acknowledge_alert, do_detect, do_detect_period

__all__ = ["do_acknowledge_alert", "do_detect", "do_detect_period", "do_raise_break_glass_alerts", "do_review_alert"]
