from django.urls import path

from . import views

app_name = "billing"

urlpatterns = [
    path("add-funds/", views.add_funds, name="add_funds"),
    path("deposits/<int:deposit_id>/", views.deposit_detail, name="deposit_detail"),
    path("deposits/<int:deposit_id>/pay/", views.deposit_pay, name="deposit_pay"),
    path("deposits/<int:deposit_id>/charge/", views.deposit_charge, name="deposit_charge"),
    path("deposits/<int:deposit_id>/status/", views.deposit_status, name="deposit_status"),
    path("history/", views.history, name="history"),
    path("history.csv", views.history_csv, name="history_csv"),
    path("stripe/webhook/", views.stripe_webhook, name="stripe_webhook"),
]
