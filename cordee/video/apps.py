from django.apps import AppConfig


class VideoConfig(AppConfig):
    name = "cordee.video"
    label = "video"
    verbose_name = "Visio"

    def ready(self) -> None:
        # Signalling frames on messaging's socket, the call tool of conversations, audit words,
        # and calls that follow the conversation's members.
        from cordee.video import receivers, shell, signalling  # noqa: F401

        signalling.register()
        shell.register()
        from cordee.video.appointments import every, remind_due
        from cordee.worker.jobs import Job, register

        register(Job("video.teleconsultation_reminders", every, remind_due))
