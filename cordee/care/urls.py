from django.urls import path

from cordee.care import views

app_name = "care"
urlpatterns = [
    path("", views.patient_list, name="patients"),
    path("acces-urgence/", views.break_glass, name="break_glass"),
    path("mon-historique/", views.my_history, name="my_history"),
    path("mon-historique/pdf/", views.my_history_pdf, name="my_history_pdf"),
    path("<str:patient_id>/", views.patient_page, name="patient"),
    path("<str:patient_id>/historique/", views.patient_history, name="history"),
    path("<str:patient_id>/historique/pdf/", views.patient_history_pdf, name="history_pdf"),
    path("<str:patient_id>/equipe/ajouter/", views.add_member, name="add_member"),
    path("<str:patient_id>/inviter/", views.invite_patient, name="invite_patient"),
    path("<str:patient_id>/equipe/<str:stay_id>/retirer/", views.remove_member, name="remove_member"),
    path("<str:patient_id>/oppositions/", views.record_opposition, name="record_opposition"),
    path(
        "<str:patient_id>/oppositions/<str:opposition_id>/retirer/",
        views.withdraw_opposition,
        name="withdraw_opposition",
    ),
]
