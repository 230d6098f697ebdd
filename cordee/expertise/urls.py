from django.urls import path

from cordee.expertise import billing, views

app_name = "expertise"
urlpatterns = [
    path("", views.received, name="received"),
    path("envoyes/", views.sent, name="sent"),
    path("mes-demandes/", views.mine, name="mine"),
    path("facturation/", billing.export_view, name="billing"),
    path("patient/<str:patient_id>/nouveau/", views.new, name="new"),
    path("<str:expertise_id>/", views.detail, name="detail"),
    path("<str:expertise_id>/piece/<str:attachment_id>/", views.attachment, name="attachment"),
    path("<str:expertise_id>/<str:action>/", views.transition, name="transition"),
]
