from django.urls import path

from cordee.documents import views

app_name = "documents"
urlpatterns = [
    path("", views.my_record, name="mine"),
    path("patient/<str:patient_id>/", views.record, name="record"),
    path("patient/<str:patient_id>/televerser/", views.upload, name="upload"),
    path("patient/<str:patient_id>/recherche/", views.search_record, name="search"),
    path("patient/<str:patient_id>/export/", views.export_record, name="export"),
    path("document/<str:document_id>/", views.document_page, name="document"),
    path("document/<str:document_id>/version/", views.new_version, name="new_version"),
    path("document/<str:document_id>/erreur/", views.enter_in_error, name="enter_in_error"),
    path("document/<str:document_id>/visibilite/", views.set_visibility, name="set_visibility"),
    path("document/<str:document_id>/partager/", views.share, name="share"),
    path("piece-jointe/<str:attachment_id>/classer/", views.file_attachment, name="file_attachment"),
    path("version/<str:version_id>/telecharger/", views.download, name="download"),
    path("version/<str:version_id>/apercu/", views.preview, name="preview"),
]
