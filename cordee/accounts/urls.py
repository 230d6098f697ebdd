from django.urls import path

from cordee.accounts import views
from cordee.accounts.annuaire import views as annuaire_views

app_name = "accounts"
urlpatterns = [
    path("structures/", views.structures, name="structures"),
    path("structures/<id:structure_id>/", views.structure, name="structure"),
    path("structures/<id:structure_id>/invitations/", views.invite, name="invite"),
    path("structures/<id:structure_id>/annuaire/", annuaire_views.annuaire, name="annuaire"),
    path(
        "structures/<id:structure_id>/annuaire/professionnels/<id:professional_id>/verifier/",
        annuaire_views.verify,
        name="annuaire_verify",
    ),
    path(
        "structures/<id:structure_id>/annuaire/professionnels/<id:professional_id>/rejeter/",
        annuaire_views.reject,
        name="annuaire_reject",
    ),
    path("membres/<id:membership_id>/role/", views.change_role, name="change_role"),
    path("membres/<id:membership_id>/agit-pour/", views.set_acts_for, name="set_acts_for"),
    path("membres/<id:membership_id>/securite/", views.set_security_officer, name="set_security_officer"),
    path("invitation/<str:token>/", views.invitation, name="invitation"),
    path("securite/", views.security, name="security"),
    path("securite/sessions/<id:session_id>/revoquer/", views.revoke_session, name="revoke_session"),
    path("securite/sessions/revoquer-autres/", views.revoke_other_sessions, name="revoke_other_sessions"),
]
