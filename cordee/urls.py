from django.urls import include, path, register_converter

from cordee.api import api
from cordee.lib.ids import IdConverter
from cordee.web import views as web_views

register_converter(IdConverter, "id")  # before the apps' URL modules are imported by include()

urlpatterns = [
    path("", include("cordee.web.urls")),
    path("manifest.webmanifest", web_views.manifest, name="manifest"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("allauth.urls")),
    path("comptes/", include("cordee.accounts.urls")),
    path("messagerie/", include("cordee.messaging.urls")),
    path("api/", api.urls),
    path("patients/", include("cordee.care.urls")),
    path("securite/", include("cordee.security.urls")),
    path("medicaments/", include("cordee.drugs.urls")),
]
