from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "cordee.accounts"
    label = "accounts"
    verbose_name = "Comptes"

    def ready(self) -> None:
        from cordee.accounts import signals  # noqa: F401  (connects the audit receivers)
