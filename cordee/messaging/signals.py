"""Signals of the messaging, for the apps above it.

``messages_stored`` is sent inside the transaction that stores a batch of new messages, after
their audit entries (the patient's record lists the care-team threads' messages, titles only)::

    messages_stored.send(sender=Message, stored=[(conversation, message), …])

``conversation`` is the full row (kind, patient); a receiver that fails undoes the sends.
"""

from __future__ import annotations

from django.dispatch import Signal

messages_stored = Signal()
