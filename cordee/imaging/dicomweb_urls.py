from django.urls import path

from cordee.imaging import dicomweb

app_name = "dicomweb"
_instance = "studies/<str:study_uid>/series/<str:series_uid>/instances/<str:sop_uid>"
urlpatterns = [
    path("studies", dicomweb.stow, name="stow"),
    path("studies/<str:study_uid>/metadata", dicomweb.metadata, name="metadata"),
    path(_instance, dicomweb.instance, name="instance"),
    path(f"{_instance}/frames/<int:frame>", dicomweb.frames, name="frames"),
    path(f"{_instance}/frames/<int:frame>/rendered", dicomweb.rendered, name="rendered"),
]
