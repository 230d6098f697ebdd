"""Annuaire Santé (RPPS / ADELI) open-data extraction: import and identity verification.

``parser`` reads a ``PS_LibreAcces_Personne_activite`` file line by line, ``models`` keeps what
was imported, ``services`` imports and verifies (``do_*``, audited), ``views`` is the admin page.
"""
