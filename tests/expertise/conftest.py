from tests.referrals.conftest import client_as, document, last_entry, patient  # noqa: F401  (shared fixtures)
