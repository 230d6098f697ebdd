from django.apps import AppConfig


class SigningConfig(AppConfig):
    name = "cordee.signing"
    label = "signing"
    verbose_name = "Signatures"

    def ready(self) -> None:
        # DEBUG (demo, tests) creates a missing CA or QR key here, loudly; production must provide
        # them (a deploy check says so, first use raises SigningKeyError).
        from cordee.signing import checks  # noqa: F401  (registers the deploy check)
        from cordee.signing.keys import ensure_keys

        ensure_keys()
