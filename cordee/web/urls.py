from django.urls import path

from cordee.web import push_views, views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("modules/", views.modules, name="modules"),
    path("recherche/", views.search, name="search"),
    path("accessibilite/", views.accessibility, name="accessibility"),
    path("attente/", views.waiting, name="waiting"),
    path("session/", views.session_state, name="session"),
    path("session/prolonger/", views.keep_alive, name="keep_alive"),
    path("notifications/", push_views.notifications, name="notifications"),
    path("notifications/abonnement/", push_views.subscribe, name="push_subscribe"),
    path("notifications/desabonnement/", push_views.unsubscribe, name="push_unsubscribe"),
]
