from django.urls import path

from cordee.library import views, views_imports

app_name = "library"
urlpatterns = [
    path("", views.search_page, name="search"),
    path("resultats/", views.results, name="results"),
    path("articles/<str:pmid>/", views.article, name="article"),
    path("articles/<str:pmid>/enregistrer/", views.save, name="save"),
    path("articles/<str:pmid>/note/", views.save_note, name="note"),
    path("articles/<str:pmid>/partager/", views.share, name="share"),
    path("collections/", views.collections, name="collections"),
    path("collections/<id:collection_id>/", views.collection, name="collection"),
    path("collections/<id:collection_id>/supprimer/", views.delete_collection, name="delete_collection"),
    path("collections/<id:collection_id>/retirer/<str:pmid>/", views.remove, name="remove"),
    path("collections/<id:collection_id>/export.<str:fmt>", views.export, name="export"),
    path("medicament/<str:cis>/", views.for_product, name="product"),
    path("imports/", views_imports.imports, name="imports"),
    path("imports/lancer/", views_imports.start_import, name="start_import"),
    path("imports/<id:run_id>/", views_imports.import_run, name="import_run"),
    path("imports/<id:run_id>/progression/", views_imports.import_progress, name="import_progress"),
]
