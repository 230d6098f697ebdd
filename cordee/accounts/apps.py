from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "cordee.accounts"
    label = "accounts"
    verbose_name = "Comptes"

    def ready(self) -> None:
        from cordee.accounts import shell, signals  # noqa: F401  (signals connects the audit receivers)
        from cordee.accounts.services.lockout import purge_older_than
        from cordee.worker.jobs import Job, daily, register

        shell.register()  # its entries in the shell's module registry
        # Failed-login records older than 30 days are forgotten (their audit entries stay).
        register(Job("accounts.purge_login_failures", daily, purge_older_than))
