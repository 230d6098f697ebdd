from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "cordee.security"
    label = "security"
    verbose_name = "Sécurité"

    def ready(self) -> None:
        from cordee.security import receivers, shell  # noqa: F401  (receivers: the care app's signals)
        from cordee.security.services import detections
        from cordee.security.services.reminders import do_send_reminders, every
        from cordee.worker.jobs import Job, register

        shell.register()  # its alert queue, count and home card in the shell's module registry
        # The 72-hour clock's reminders to the officers, at 24 h and 48 h (checked every 10 minutes).
        register(Job("security.incident_reminders", every, do_send_reminders))
        # The detection rules over the audit entries written since its cursor (DETECT_EVERY_SECONDS).
        register(Job("security.detect", detections.every, detections.do_detect))
