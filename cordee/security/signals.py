"""Signals of the security app, for the apps above it (messaging) to act on its events.

- ``notices_approved`` (sent after the commit of an officer's approval that informs the patients):
  ``incident_id``, ``officer_id`` (who approved) and ``notice_ids``. Messaging delivers each notice
  of a patient with an account as a secure message from that officer (``messaging/breach_notices.py``).
"""

from __future__ import annotations

from django.dispatch import Signal

notices_approved = Signal()
