"""Audit actions and purposes of calls (their words for the patient's access history in ``shell``)."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

CALL = "video.call"  # the purpose of call actions with no patient (direct and group conversations)
CARE_TEAM_CALL = "video.care_team_call"  # a call in a patient's care-team thread
# A teleconsultation's entries carry their action as purpose: the patient reads each in their history.

STARTED = "video.call.started"
JOINED = "video.call.joined"
WAITING = "video.call.waiting"  # a patient entered the waiting room
ADMITTED = "video.call.admitted"
LEFT = "video.call.left"
ENDED = "video.call.ended"
REFUSED = "video.refused"  # a call asked for that the user may not reach (missing and forbidden alike)
SIGNAL_REFUSED = "video.signal.refused"  # a signalling frame for a call or peer the sender is not in with
SIGNAL_MALFORMED = "video.signal.malformed"
START_LIMITED = "video.call.rate_limited"
PLANNED = "video.teleconsultation.planned"
CANCELLED = "video.teleconsultation.cancelled"
LISTED = "video.teleconsultation.listed"  # a professional's list showed the patient's planned one

LABELS: dict[str, str | Promise] = {
    CARE_TEAM_CALL: _("Call of your care team about you"),
}
ACTIONS: dict[str, str | Promise] = {
    STARTED: _("Started a teleconsultation with you"),
    JOINED: _("Joined your teleconsultation"),
    WAITING: _("Entered the waiting room of a teleconsultation"),
    ADMITTED: _("Let you into a teleconsultation"),
    LEFT: _("Left your teleconsultation"),
    ENDED: _("Ended your teleconsultation"),
    PLANNED: _("Planned a teleconsultation with you"),
    CANCELLED: _("Cancelled a teleconsultation with you"),
    LISTED: _("Saw your planned teleconsultation in their list"),
}
