from django.urls import path

from cordee.imaging import views

app_name = "imaging"
urlpatterns = [
    path("", views.my_studies, name="mine"),
    path("patient/<str:patient_id>/", views.studies, name="studies"),
    path("patient/<str:patient_id>/televersements/", views.start_upload, name="start_upload"),
    path("televersement/<str:token>/", views.upload_chunk, name="upload_chunk"),
    path("etude/<str:study_id>/", views.study_page, name="study"),
    path("etude/<str:study_id>/copie-anonymisee/", views.export, name="export"),
    path("etude/<str:study_id>/partager/", views.share, name="share"),
    path("a-rapprocher/", views.inbox, name="inbox"),
    path("a-rapprocher/<str:study_id>/", views.reconcile_study, name="reconcile"),
]
