from django.apps import AppConfig


class BackupsConfig(AppConfig):
    name = "cordee.backups"
    label = "backups"
    verbose_name = "Sauvegardes"

    def ready(self) -> None:
        from cordee.backups import (
            receivers,  # noqa: F401  (the vault's erasures go to the shred list)
            services,
        )
        from cordee.worker.jobs import Job, register

        # The scheduled backup (BACKUP_EVERY_SECONDS; only when a repository is configured) and the
        # watch that alerts the officers when the last good backup is too old (hourly).
        register(Job("backups.backup", services.every, services.scheduled_backup))
        register(Job("backups.watch", services.watch_every, services.do_watch))
