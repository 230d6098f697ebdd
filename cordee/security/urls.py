from django.urls import path

from cordee.security import views

app_name = "security"
urlpatterns = [
    path("alertes/", views.alerts, name="alerts"),
    path("alertes/<str:alert_id>/revue/", views.review, name="review"),
]
