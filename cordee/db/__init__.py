"""Database helpers that know no app (the bottom layer: the audit trail and everything above use them)."""
