from django.urls import path

from . import views

app_name = "billing"

urlpatterns = [
    path("add-funds/", views.add_funds, name="add_funds"),
]
