from django.urls import path

from cordee.video import views

app_name = "video"
urlpatterns = [
    path("conversation/<str:conversation_id>/appel/", views.start, name="start"),
    path("appels/<str:call_id>/", views.call_page, name="call"),
    path("appels/<str:call_id>/ice/", views.ice_servers, name="ice"),
    path("conversation/<str:conversation_id>/planifier/", views.plan, name="plan"),
    path("teleconsultations/", views.appointment_list, name="appointments"),
    path("teleconsultations/<str:appointment_id>/annuler/", views.cancel, name="cancel"),
]
