from django.urls import path

from . import views

app_name = "legal"

urlpatterns = [
    path("<slug:kind>/", views.document, name="document"),
]
