"""What the vault tells the apps above it.

- ``shredding``: an owner's data keys are being destroyed (``services.do_shred``). Sent inside the
  erasure's transaction, after the key row is destroyed and audited, so that an app holding data
  of that owner under keys of its own (an imaging study has its own key for its header copies)
  destroys them in the same transaction: the erasure commits whole or not at all. Keyword
  arguments: ``owner`` (the row, or an ``OwnerRef``), ``owner_ref``, ``by``, ``reason``, ``request``.
"""

from __future__ import annotations

from django.dispatch import Signal

shredding = Signal()
