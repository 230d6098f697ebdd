"""Signals of the care relationship.

``care_team_changed`` is sent after the commit of any change that gives or takes away a user's
care-team access to a patient (joining or leaving the team, an opposition recorded or
withdrawn, a professional leaving whom staff acted for), once per user whose access changed::

    care_team_changed.send(sender=CareTeamMember, patient_id=…, user_id=…, joined=True|False)

``joined`` says whether the user now has care-team access. Receivers (messaging) join or leave
the care-team threads and cut the sockets of those who left.

``patient_thread_close_requested`` is sent inside the transaction that records an opposition when
the patient herself, opposing sharing with one professional, chose to close her own conversation
with them as well (her choice: docs/security.md, "What an opposition cuts")::

    patient_thread_close_requested.send(sender=Opposition, patient_id=…, professional_id=…, by=…, request=…)

``break_glass_opened`` is sent inside the transaction that opens an emergency access; the
security app raises its alerts in it (so a failure to alert undoes the access)::

    break_glass_opened.send(sender=BreakGlassGrant, grant=…, request=…)
"""

from __future__ import annotations

from django.dispatch import Signal

care_team_changed = Signal()
break_glass_opened = Signal()
patient_thread_close_requested = Signal()
