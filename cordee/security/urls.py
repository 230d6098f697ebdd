from django.urls import path

from cordee.security import views, views_incidents

app_name = "security"
urlpatterns = [
    path("alertes/", views.alerts, name="alerts"),
    path("alertes/<str:alert_id>/revue/", views.review, name="review"),
    path("incidents/", views_incidents.incidents, name="incidents"),
    path("incidents/nouveau/", views_incidents.declare, name="declare"),
    path("incidents/registre.csv", views_incidents.register_export, {"fmt": "csv"}, name="register_csv"),
    path("incidents/registre.pdf", views_incidents.register_export, {"fmt": "pdf"}, name="register_pdf"),
    path("incidents/<str:incident_id>/", views_incidents.incident, name="incident"),
    path("incidents/<str:incident_id>/modifier/", views_incidents.update, name="update"),
    path("incidents/<str:incident_id>/perimetre/", views_incidents.scope, name="scope"),
]
