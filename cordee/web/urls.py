from django.urls import path

from cordee.web import views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("modules/", views.modules, name="modules"),
]
