from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "cordee.accounts"
    label = "accounts"
    verbose_name = "Comptes"

    def ready(self) -> None:
        from cordee.accounts import shell, signals  # noqa: F401  (signals connects the audit receivers)

        shell.register()  # its entries in the shell's module registry
