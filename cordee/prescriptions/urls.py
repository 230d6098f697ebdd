from django.urls import path
app_name = "prescriptions"
urlpatterns: list = []
