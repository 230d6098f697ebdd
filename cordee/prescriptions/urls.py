from django.urls import path

from cordee.prescriptions import views

app_name = "prescriptions"
urlpatterns = [
    path("", views.mine, name="mine"),
    path("patient/<str:patient_id>/", views.patient_list, name="patient"),
    path("patient/<str:patient_id>/nouvelle/", views.create, name="create"),
    path("medicaments/", views.drug_search, name="drug_search"),
    path("pharmacie/", views.pharmacy, name="pharmacy"),
    path("pharmacie/ouvrir/", views.pharmacy_open, name="pharmacy_open"),
    path("pharmacie/delivrer/", views.pharmacy_dispense, name="pharmacy_dispense"),
    path("<str:prescription_id>/", views.detail, name="detail"),
    path("<str:prescription_id>/ligne/", views.add_line, name="add_line"),
    path("<str:prescription_id>/ligne/<str:line_id>/retirer/", views.remove_line, name="remove_line"),
    path("<str:prescription_id>/options/", views.set_options, name="set_options"),
    path("<str:prescription_id>/signer/", views.sign, name="sign"),
    path("<str:prescription_id>/annuler/", views.cancel, name="cancel"),
    path("<str:prescription_id>/renouveler/", views.renew, name="renew"),
    path("<str:prescription_id>/pdf/", views.download, name="download"),
]
