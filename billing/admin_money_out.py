"""Admin for money going out (issue 12): withdrawals and refunds, disputes, dormancy,
affiliates. Read-only lists; every action calls a service and checks its permission
(403 otherwise); the "Finance" group holds them (migration 0004)."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from smmpanel.exceptions import DomainError

from .admin import ReadOnlyAdmin
from .models import (
    Commission,
    CustomerFlag,
    Dispute,
    DormancyCase,
    DormancyEvent,
    Referral,
    Withdrawal,
    WithdrawalEvent,
    WithdrawalRefund,
)
from .selectors import payout_figure
from .services import dormancy, withdrawals


class ReasonActionForm(ActionForm):
    reason = forms.CharField(required=False, max_length=255, label="Reason / note")


def _run(modeladmin, request, queryset, *, permission: str, call, done: str, needs_reason=False):
    """One helper for every action: the permission (403), the reason, the service per row."""
    if not request.user.has_perm(permission):
        raise PermissionDenied
    reason = (request.POST.get("reason") or "").strip()
    if needs_reason and not reason:
        modeladmin.message_user(request, "Give the reason in the box.", messages.ERROR)
        return
    ok = 0
    for obj in queryset:
        try:
            call(obj, request.user, reason)
        except DomainError as exc:
            modeladmin.message_user(request, f"#{obj.pk}: {exc.message}", messages.ERROR)
        else:
            ok += 1
    if ok:
        modeladmin.message_user(request, f"{done}: {ok}.", messages.SUCCESS)
    return


class WithdrawalEventInline(admin.TabularInline):
    model = WithdrawalEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "old_status", "new_status", "cause", "actor", "note"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class WithdrawalRefundInline(WithdrawalEventInline):
    model = WithdrawalRefund
    fields = ["deposit", "amount", "succeeded", "stripe_refund_id", "error"]
    readonly_fields = fields


class RefundOfferForm(forms.Form):
    CREDIT, CARD = "credit", "card"

    customer = forms.CharField(label="Customer (username or email)", max_length=254)
    method = forms.ChoiceField(
        choices=[(CREDIT, "Credit to Deposited Funds (default)"), (CARD, "Refund to the card")],
        initial=CREDIT,
    )
    amount = forms.DecimalField(
        required=False, max_digits=12, decimal_places=2, help_text="Only for a credit."
    )
    reference = forms.CharField(max_length=100, help_text="The ticket it was asked in (R-WDR-1).")
    order_id = forms.IntegerField(required=False, help_text="The order, if it is about one.")

    def clean_customer(self):
        value = self.cleaned_data["customer"].strip()
        user = get_user_model().objects.filter(Q(username=value) | Q(email__iexact=value)).first()
        if user is None:
            raise forms.ValidationError("No customer with this username or email.")
        return user

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("method") == self.CREDIT and not cleaned.get("amount"):
            self.add_error("amount", "Give the amount to credit.")
        return cleaned


@admin.register(Withdrawal)
class WithdrawalAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "created_at",
        "user",
        "kind",
        "status",
        "deposited",
        "fee",
        "deposit_fees",
        "promo_deducted",
        "amount",
        "paid_amount",
        "verification",
    ]
    list_filter = ["status", "kind", "requires_verification"]
    search_fields = ["user__username", "user__email", "reference"]
    list_select_related = ["user"]
    inlines = [WithdrawalRefundInline, WithdrawalEventInline]
    action_form = ReasonActionForm
    actions = ["approve", "reject", "require_verification", "verify"]
    change_list_template = "billing/admin/withdrawal_changelist.html"

    @admin.display(description="Verification")
    def verification(self, obj):
        if not obj.requires_verification:
            return "-"
        return "given" if obj.verified_at else "REQUIRED"

    @admin.action(description="Approve and pay to the card (Stripe refunds)")
    def approve(self, request, queryset):
        return _run(self, request, queryset, permission="billing.approve_withdrawal",
                    call=lambda w, actor, _: withdrawals.withdrawal_approve(
                        withdrawal_id=w.pk, actor=actor), done="Processed")  # fmt: skip

    @admin.action(description="Reject (everything returns to the balance)")
    def reject(self, request, queryset):
        return _run(self, request, queryset, permission="billing.approve_withdrawal",
                    call=lambda w, actor, reason: withdrawals.withdrawal_reject(
                        withdrawal_id=w.pk, actor=actor, reason=reason),
                    done="Rejected", needs_reason=True)  # fmt: skip

    @admin.action(description="Require verification before paying (R-WDR-5)")
    def require_verification(self, request, queryset):
        return _run(self, request, queryset, permission="billing.verify_withdrawal",
                    call=lambda w, actor, reason: withdrawals.withdrawal_verification_require(
                        withdrawal_id=w.pk, actor=actor, note=reason),
                    done="Verification required")  # fmt: skip

    @admin.action(description="Verification given")
    def verify(self, request, queryset):
        return _run(self, request, queryset, permission="billing.verify_withdrawal",
                    call=lambda w, actor, reason: withdrawals.withdrawal_verify(
                        withdrawal_id=w.pk, actor=actor, note=reason),
                    done="Verified")  # fmt: skip

    def get_urls(self):
        offer = path(
            "refund/",
            self.admin_site.admin_view(self.refund_view),
            name="billing_withdrawal_refund",
        )
        return [offer, *super().get_urls()]

    def refund_view(self, request):
        """A refund decided by Finance (R-WDR-1): a credit, or an offer to the card at the
        R-WDR-2 figure, shown here before it is offered; the customer then confirms it."""
        if not request.user.has_perm("billing.offer_refund"):
            raise PermissionDenied
        form = RefundOfferForm(request.POST or None)
        figure = None
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                if data["method"] == RefundOfferForm.CREDIT:
                    txn = withdrawals.refund_credit(
                        user=data["customer"],
                        amount=data["amount"],
                        reason=f"refund decided by staff ({data['reference']})",
                        actor=request.user,
                        order_id=data["order_id"],
                    )
                    messages.success(request, f"Credited: ledger transaction #{txn.pk}.")
                    return redirect(reverse("admin:billing_transaction_change", args=[txn.pk]))
                figure = payout_figure(user=data["customer"], kind=Withdrawal.Kind.REFUND)
                if request.POST.get("offer") == "1":
                    offer = withdrawals.refund_offer(
                        user=data["customer"],
                        actor=request.user,
                        reference=data["reference"],
                        order_id=data["order_id"],
                    )
                    messages.success(request, f"Refund #{offer.pk} offered; the customer confirms.")
                    return redirect(reverse("admin:billing_withdrawal_change", args=[offer.pk]))
            except DomainError as exc:
                form.add_error(None, exc.message)
        context = {
            **self.admin_site.each_context(request),
            "title": "Refund (Finance)",
            "form": form,
            "figure": figure,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "billing/admin/refund.html", context)


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdmin):
    """R-PAY-4: the chargebacks Stripe reported, and what each did to the balance."""

    list_display = [
        "stripe_dispute_id",
        "created_at",
        "user",
        "deposit",
        "amount",
        "status",
        "forfeited",
        "promo_canceled",
        "owed",
        "closed_at",
    ]
    list_filter = ["status"]
    search_fields = ["stripe_dispute_id", "user__username", "user__email"]
    list_select_related = ["user", "deposit"]


class DormancyEventInline(WithdrawalEventInline):
    model = DormancyEvent
    fields = ["created_at", "old_state", "new_state", "cause", "actor", "note"]
    readonly_fields = fields


@admin.register(DormancyCase)
class DormancyCaseAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "user",
        "state",
        "activity_at",
        "freeze_at",
        "frozen_deposited",
        "frozen_affiliate",
        "promo_forfeited",
        "forfeit_at",
        "forfeited",
        "next_due_at",
    ]
    list_filter = ["state"]
    search_fields = ["user__username", "user__email"]
    list_select_related = ["user"]
    inlines = [DormancyEventInline]
    action_form = ReasonActionForm
    actions = ["restore"]

    @admin.action(description="Restore as a goodwill action (give the reason)")
    def restore(self, request, queryset):
        return _run(self, request, queryset, permission="billing.restore_dormant",
                    call=lambda case, actor, reason: dormancy.dormancy_restore_goodwill(
                        case_id=case.pk, actor=actor, reason=reason),
                    done="Restored", needs_reason=True)  # fmt: skip


class VerificationForm(forms.Form):
    customer = forms.CharField(label="Customer (username or email)", max_length=254)
    note = forms.CharField(max_length=255, help_text="What must be verified, and why.")

    clean_customer = RefundOfferForm.clean_customer


@admin.register(CustomerFlag)
class CustomerFlagAdmin(ReadOnlyAdmin):
    """R-WDR-5: customers whose payouts wait for staff verification."""

    list_display = ["user", "verification_required", "note", "set_by", "updated_at"]
    list_select_related = ["user", "set_by"]
    action_form = ReasonActionForm
    actions = ["lift"]
    change_list_template = "billing/admin/customerflag_changelist.html"

    def get_urls(self):
        require = path(
            "require/",
            self.admin_site.admin_view(self.require_view),
            name="billing_customerflag_require",
        )
        return [require, *super().get_urls()]

    def require_view(self, request):
        if not request.user.has_perm("billing.verify_withdrawal"):
            raise PermissionDenied
        form = VerificationForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            withdrawals.customer_verification_set(
                user=form.cleaned_data["customer"],
                required=True,
                actor=request.user,
                note=form.cleaned_data["note"],
            )
            messages.success(request, "Payouts of this customer now wait for verification.")
            return redirect(reverse("admin:billing_customerflag_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Require verification before payouts",
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "billing/admin/verification.html", context)

    @admin.action(description="No longer require verification")
    def lift(self, request, queryset):
        return _run(self, request, queryset, permission="billing.verify_withdrawal",
                    call=lambda flag, actor, reason: withdrawals.customer_verification_set(
                        user=flag.user, required=False, actor=actor, note=reason),
                    done="Lifted")  # fmt: skip


@admin.register(Referral)
class ReferralAdmin(ReadOnlyAdmin):
    list_display = ["id", "referrer", "referred", "signup_ip", "created_at"]
    search_fields = ["referrer__username", "referred__username"]
    list_select_related = ["referrer", "referred"]


@admin.register(Commission)
class CommissionAdmin(ReadOnlyAdmin):
    list_display = ["id", "referral", "deposit", "amount", "clawed_back", "status", "created_at"]
    list_filter = ["status"]
    list_select_related = ["referral__referrer", "referral__referred"]
