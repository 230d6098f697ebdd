from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "cordee.accounts"
    label = "accounts"
    verbose_name = "Comptes"

    def ready(self) -> None:
        from cordee.accounts import signals  # noqa: F401  (connects the audit receivers)
        from cordee.accounts.lockout import purge_older_than
        from cordee.worker.jobs import Job, daily, register

        # Failed-login records older than 30 days are forgotten (their audit entries stay).
        register(Job("accounts.purge_login_failures", daily, purge_older_than))
