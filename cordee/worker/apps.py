from django.apps import AppConfig


class WorkerConfig(AppConfig):
    name = "cordee.worker"
    label = "worker"
    verbose_name = "Worker"
