"""The e-prescription's acts: drafts, checks, signing, lifecycle and dispensing (one module each)."""
