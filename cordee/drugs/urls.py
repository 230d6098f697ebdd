from django.urls import path

from cordee.drugs import views, views_imports

app_name = "drugs"
urlpatterns = [
    path("", views.search_page, name="search"),
    path("resultats/", views.results, name="results"),
    path("interactions/", views.interactions, name="interactions"),
    path("imports/", views_imports.imports, name="imports"),
    path("imports/lancer/", views_imports.start_import, name="start_import"),
    path("imports/<id:run_id>/", views_imports.import_run, name="import_run"),
    path("imports/<id:run_id>/progression/", views_imports.import_progress, name="import_progress"),
    path("<str:cis>/", views.product, name="product"),
]
