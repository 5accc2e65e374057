from django.urls import path

from . import views

app_name = "abuse"

urlpatterns = [path("", views.abuse_report, name="report")]
