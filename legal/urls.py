from django.urls import path

from . import views

app_name = "legal"

urlpatterns = [
    path("accept/", views.accept, name="accept"),
    path("preview/<int:document_id>/", views.preview, name="preview"),
    path("<slug:kind>/", views.document, name="document"),
    path("<slug:kind>/v<int:version>/", views.document_old, name="version"),
]
