from django.urls import path

from cordee.referrals import views

app_name = "referrals"
urlpatterns = [
    path("", views.received, name="received"),
    path("envoyes/", views.sent, name="sent"),
    path("annuaire/", views.lookup, name="lookup"),
    path("patient/<str:patient_id>/nouveau/", views.new, name="new"),
    path("<str:referral_id>/", views.detail, name="detail"),
    path("<str:referral_id>/lettre.pdf", views.letter, name="letter"),
    path("<str:referral_id>/piece/<str:attachment_id>/", views.attachment, name="attachment"),
    path("<str:referral_id>/<str:action>/", views.transition, name="transition"),
]
