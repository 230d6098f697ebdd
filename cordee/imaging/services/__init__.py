"""The only code that changes imaging state: ingest (every way in), reconciliation, exports."""
