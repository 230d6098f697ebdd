from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "cordee.web"
    label = "web"
    verbose_name = "Web"

    def ready(self) -> None:
        from cordee.web import push  # noqa: F401  (push notifications follow modules.something_waits)
