from django.apps import AppConfig


class WorkerConfig(AppConfig):
    name = "cordee.worker"
    label = "worker"
    verbose_name = "Worker"

    def ready(self) -> None:
        from cordee.worker.jobs import Job, hourly, register
        from cordee.worker.statistics import refresh

        register(Job("database.statistics", hourly, refresh))
