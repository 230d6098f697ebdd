from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "cordee.web"
    label = "web"
    verbose_name = "Web"
