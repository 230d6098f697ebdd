from django.apps import AppConfig


class VaultConfig(AppConfig):
    name = "cordee.vault"
    label = "vault"
    verbose_name = "Coffre (chiffrement)"

    def ready(self) -> None:
        # Runs under uvicorn (cordee.asgi) and every manage.py command: a missing or corrupt keyset
        # stops the start-up here with a clear message (DEBUG creates a missing one, loudly).
        from cordee.vault.keyset import check_at_startup

        check_at_startup()
