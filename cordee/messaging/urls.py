from django.urls import path

from cordee.messaging import views

app_name = "messaging"
urlpatterns = [
    path("", views.index, name="index"),
    path("nouvelle/", views.new, name="new"),
    path("nouvelle/directe/", views.start_direct, name="start_direct"),
    path("nouvelle/groupe/", views.create_group, name="create_group"),
    path("nouvelle/patient/", views.start_patient, name="start_patient"),
    path("<str:conversation_id>/", views.conversation, name="conversation"),
    path("<str:conversation_id>/reglages/", views.settings_action, name="settings"),
]
