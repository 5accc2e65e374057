"""Admin: the ledger is read-only; staff move money only through the services, with a reason."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from .admin_columns import MoneyColumns
from .forms import StaffBalanceForm
from .models import (
    Account,
    Deposit,
    Entry,
    PromoCode,
    PromoRedemption,
    RefKind,
    StripeCustomer,
    StripeEvent,
    Transaction,
    WebhookAnomaly,
)
from .money import usd_text
from .services import promo_credit_grant, staff_adjust


class ReadOnlyAdmin(MoneyColumns, admin.ModelAdmin):
    """Rows written by the services only: visible, never added, changed or deleted here.
    Money in their lists shows by the one display rule (``MoneyColumns``)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class EntryInline(admin.TabularInline):
    model = Entry
    fields = ["account", "amount", "balance_after"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "reason", "user", "memo", "ref_kind", "ref_id", "actor"]
    list_filter = ["reason", "ref_kind", "created_at"]
    search_fields = ["memo", "ref_id", "user__username", "user__email", "idempotency_key"]
    list_select_related = ["user", "actor"]
    inlines = [EntryInline]
    date_hierarchy = "created_at"


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "user", "balance"]
    list_filter = ["kind"]
    search_fields = ["user__username", "user__email"]
    list_select_related = ["user"]
    change_list_template = "billing/admin/account_changelist.html"

    def get_urls(self):
        adjust = path(
            "adjust/",
            self.admin_site.admin_view(self.adjust_view),
            name="billing_account_adjust",
        )
        return [adjust, *super().get_urls()]

    def adjust_view(self, request):
        """Grant Promotional Credit or adjust a balance, through the ledger services."""
        if not request.user.has_perm("billing.adjust_balance"):
            raise PermissionDenied
        form = StaffBalanceForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            if data["action"] == StaffBalanceForm.GRANT:
                txn = promo_credit_grant(
                    user=data["customer"],
                    amount=data["amount"],
                    memo=f"Promotional credit: {data['reason']}",
                    ref_kind=RefKind.STAFF,
                    ref_id=request.user.pk,
                    actor=request.user,
                )
            else:
                source = (
                    Account.Kind.DEPOSITED
                    if data["action"] == StaffBalanceForm.ADJUST_DEPOSITED
                    else Account.Kind.PROMOTIONAL
                )
                txn = staff_adjust(
                    user=data["customer"],
                    source=source,
                    amount=data["amount"],
                    reason=data["reason"],
                    actor=request.user,
                )
            messages.success(request, f"Posted ledger transaction #{txn.pk}: {txn.memo}")
            return redirect(reverse("admin:billing_transaction_change", args=[txn.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": "Grant credit or adjust a balance",
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "billing/admin/adjust.html", context)


@admin.register(Deposit)
class DepositAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "user", "method", "amount", "fee", "status", "promo_code"]
    list_filter = ["status", "method", "created_at"]
    search_fields = ["user__username", "user__email", "stripe_payment_intent"]
    list_select_related = ["user", "promo_code"]


class RedemptionInline(admin.TabularInline):
    model = PromoRedemption
    fields = ["user", "deposit", "bonus", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(PromoCode)
class PromoCodeAdmin(MoneyColumns, admin.ModelAdmin):
    list_display = [
        "code",
        "kind",
        "value_text",
        "min_deposit",
        "valid_from",
        "valid_until",
        "is_active",
        "times_used",
    ]
    list_filter = ["is_active", "kind"]
    search_fields = ["code", "description"]
    filter_horizontal = ["eligible_users"]
    inlines = [RedemptionInline]

    @admin.display(description="Value", ordering="value")
    def value_text(self, obj) -> str:
        if obj.kind == PromoCode.Kind.FIXED:
            return usd_text(obj.value)
        return f"{obj.value.normalize():f} %"

    @admin.display(description="Used")
    def times_used(self, obj):
        return obj.redemptions.count()

    def has_delete_permission(self, request, obj=None):
        return obj is None or (not obj.redemptions.exists() and not obj.deposits.exists())


@admin.register(PromoRedemption)
class PromoRedemptionAdmin(ReadOnlyAdmin):
    list_display = ["id", "promo_code", "user", "deposit", "bonus", "created_at"]
    list_select_related = ["promo_code", "user"]


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "type", "payment_intent", "received_at"]
    search_fields = ["event_id", "payment_intent"]


@admin.register(WebhookAnomaly)
class WebhookAnomalyAdmin(ReadOnlyAdmin):
    """Signed events that can never succeed: answered 2xx, kept for staff (issue 9)."""

    list_display = ["created_at", "type", "event_id", "payment_intent", "deposit_id", "reason"]
    search_fields = ["event_id", "payment_intent", "deposit_id"]


@admin.register(StripeCustomer)
class StripeCustomerAdmin(ReadOnlyAdmin):
    list_display = ["user", "customer_id", "created_at"]
    search_fields = ["user__username", "customer_id"]


# Issue 12: withdrawals, refunds, disputes, dormancy, affiliates.
from . import admin_money_out  # noqa: E402, F401
