"""Cordée's SQLite database backend (``base.DatabaseWrapper``): Django's, with its writers queued in the process."""
