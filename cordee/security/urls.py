from django.urls import path

from cordee.security import views, views_incidents

app_name = "security"
urlpatterns = [
    path("alertes/", views.alerts, name="alerts"),
    path("alertes/<str:alert_id>/", views.alert, name="alert"),
    path("alertes/<str:alert_id>/revue/", views.review, name="review"),
    path("alertes/<str:alert_id>/prise-en-compte/", views.acknowledge, name="acknowledge"),
    path("alertes/<str:alert_id>/verrouiller/", views.lock, name="lock"),
    path("incidents/", views_incidents.incidents, name="incidents"),
    path("incidents/nouveau/", views_incidents.declare, name="declare"),
    path("incidents/registre.csv", views_incidents.register_export, {"fmt": "csv"}, name="register_csv"),
    path("incidents/registre.pdf", views_incidents.register_export, {"fmt": "pdf"}, name="register_pdf"),
    path("incidents/<str:incident_id>/", views_incidents.incident, name="incident"),
    path("incidents/<str:incident_id>/modifier/", views_incidents.update, name="update"),
    path("incidents/<str:incident_id>/perimetre/", views_incidents.scope, name="scope"),
    path("incidents/<str:incident_id>/notification-cnil.pdf", views_incidents.cnil_draft, name="cnil_draft"),
    path("incidents/<str:incident_id>/signalement-ars.pdf", views_incidents.ars_draft, name="ars_draft"),
    path("incidents/<str:incident_id>/avis/<str:notice_id>.pdf", views_incidents.notice_pdf, name="notice_pdf"),
    path("incidents/<str:incident_id>/confinement/", views_incidents.contain, name="contain"),
    path("incidents/<str:incident_id>/rotation-kek/", views_incidents.rotate_kek, name="rotate_kek"),
    path("incidents/<str:incident_id>/rotation-cle-audit/", views_incidents.rotate_audit_key, name="rotate_audit_key"),
    path("incidents/<str:incident_id>/approuver/", views_incidents.approve, name="approve"),
    path("mes-avis/", views_incidents.my_notices, name="my_notices"),
    path("mes-avis/<str:notice_id>.pdf", views_incidents.my_notice_pdf, name="my_notice_pdf"),
]
