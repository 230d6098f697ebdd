from django.apps import AppConfig


class ImagingConfig(AppConfig):
    name = "cordee.imaging"
    label = "imaging"
    verbose_name = "Imagerie"

    def ready(self) -> None:
        from cordee.imaging import shell
        from cordee.imaging.services.erasure import sweep_erased  # and its receiver: erasure reaches studies
        from cordee.imaging.services.uploads import purge_abandoned
        from cordee.worker.jobs import Job, daily, hourly, register

        shell.register()  # its patient link, patient entry, inbox and audit words
        # Uploads left unfinished are deleted with their chunks (IMAGING_UPLOAD_ABANDONED_HOURS, checked hourly).
        register(Job("imaging.purge_abandoned_uploads", hourly, purge_abandoned))
        # Studies of patients erased before erasure reached imaging, or back with an older backup.
        register(Job("imaging.erase_leftovers", daily, sweep_erased))
