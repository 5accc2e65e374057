from django.urls import path

from . import views, views_money_out

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
    # Issue 12: money after the deposit.
    path("withdrawals/", views_money_out.withdrawals_page, name="withdrawals"),
    path(
        "withdrawals/<int:withdrawal_id>/cancel/",
        views_money_out.withdrawal_cancel,
        name="withdrawal_cancel",
    ),
    path(
        "withdrawals/<int:withdrawal_id>/confirm/",
        views_money_out.refund_confirm,
        name="refund_confirm",
    ),
    path("dormancy/restore/", views_money_out.dormancy_restore, name="dormancy_restore"),
    path("affiliates/", views_money_out.affiliates_page, name="affiliates"),
    path("r/<str:code>/", views_money_out.referral_landing, name="referral"),
    path("close-account/", views_money_out.account_close, name="account_close"),
]
