from django.urls import include, path, register_converter

from cordee.api import api
from cordee.lib.ids import IdConverter
from cordee.web import push_views as web_push_views
from cordee.web import views as web_views

register_converter(IdConverter, "id")  # before the apps' URL modules are imported by include()

handler403 = "cordee.web.errors.forbidden"
handler404 = "cordee.web.errors.not_found"
handler500 = "cordee.web.errors.server_error"

urlpatterns = [
    path("", include("cordee.web.urls")),
    path("manifest.webmanifest", web_views.manifest, name="manifest"),
    path("favicon.ico", web_views.favicon, name="favicon"),
    path("sw.js", web_push_views.service_worker, name="service_worker"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("allauth.urls")),
    path("comptes/", include("cordee.accounts.urls")),
    path("messagerie/", include("cordee.messaging.urls")),
    path("dossier/", include("cordee.documents.urls")),
    path("adressages/", include("cordee.referrals.urls")),
    path("avis/", include("cordee.expertise.urls")),
    path("imagerie/", include("cordee.imaging.urls")),
    path("dicomweb/", include("cordee.imaging.dicomweb_urls")),
    path("ordonnances/", include("cordee.prescriptions.urls")),
    path("api/", api.urls),
    path("patients/", include("cordee.care.urls")),
    path("securite/", include("cordee.security.urls")),
    path("medicaments/", include("cordee.drugs.urls")),
    path("bibliotheque/", include("cordee.library.urls")),
    path("visio/", include("cordee.video.urls")),
]
