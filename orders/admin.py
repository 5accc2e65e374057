"""The staff's side of orders. Nothing here edits an order or a balance directly: every
action calls a service of ``orders.services`` (which writes the history and the returns)."""

import re

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import Count, F, Q
from django.template.response import TemplateResponse
from django.utils import timezone

from billing.admin_columns import MoneyColumns
from billing.money import usd_text
from orders.exceptions import StaffActionRefused
from orders.models import (
    FINAL_STATUSES,
    STAFF_QUEUE_STATES,
    BlockedPattern,
    FlaggedService,
    Order,
    OrderEvent,
    ReconcileOrder,
    Refill,
    RefillEvent,
    RefillUnsupported,
    RelayState,
    StaffQueueOrder,
    Subscription,
    SubscriptionCycle,
)
from orders.services import (
    order_mark_overlapped,
    order_reconcile,
    order_resend,
    order_staff_cancel,
    order_staff_partial,
    order_staff_progress,
    orders_cancel_pricing_error,
)
from orders.services.refills import (
    refill_reconcile,
    refill_staff_approve,
    refill_staff_complete,
    refill_staff_reject,
)
from smmpanel.admin import admin_apply_each


class OrderEventInline(admin.TabularInline):
    model = OrderEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "old_status", "new_status", "cause", "actor", "note", "staff_only"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class NeedsStaffFilter(admin.SimpleListFilter):
    title = "needs staff"
    parameter_name = "needs_staff"

    def lookups(self, request, model_admin):
        return [("yes", "Yes: reconcile, failed, manual, stuck at the provider")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(relay_state__in=STAFF_QUEUE_STATES).exclude(
                status__in=FINAL_STATUSES
            )
        return queryset


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=400, help_text="Written in the order's history.")


class PartialForm(ReasonForm):
    remains = forms.IntegerField(min_value=0, help_text="What was not delivered.")


class ReconcileForm(forms.Form):
    provider_order_id = forms.IntegerField(
        min_value=1, label="Provider's order id", help_text="As the provider's panel shows it."
    )


class ProgressForm(forms.Form):
    start_count = forms.IntegerField(min_value=0, required=False)
    remains = forms.IntegerField(min_value=0, required=False)


def _order_summary(order) -> str:
    return f"#{order.pk} ({order.get_status_display()}, {usd_text(order.charge)})"


def _action_form(
    modeladmin, request, queryset, *, form_class, title, action, single=False,
    noun="order", summary=_order_summary,
):  # fmt: skip
    """An intermediate page asking for the action's details; the form once it is valid."""
    if single and queryset.count() != 1:
        modeladmin.message_user(request, "Choose exactly one order for this.", messages.WARNING)
        return None, None
    form = form_class(request.POST if "apply" in request.POST else None)
    if form.is_bound and form.is_valid():
        return form, None
    page = TemplateResponse(
        request,
        "orders/admin/action_form.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": title,
            "opts": modeladmin.model._meta,
            "noun": noun,
            "items": [summary(item) for item in queryset],
            "form": form,
            "action": action,
            "selected": request.POST.getlist(ACTION_CHECKBOX_NAME),
            "checkbox_name": ACTION_CHECKBOX_NAME,
        },
    )
    return None, page


def _counted(noun: str, done: str):
    return lambda count: f"{count} {noun}{'s' if count != 1 else ''} {done}."


def _each(modeladmin, request, queryset, call, done: str) -> None:
    admin_apply_each(
        modeladmin, request, queryset.order_by("pk"), call,
        refused=StaffActionRefused, done=_counted("order", done),
    )  # fmt: skip


@admin.register(Order)
class OrderAdmin(MoneyColumns, admin.ModelAdmin):
    # Fits 1280 px beside the admin's sidebar (issue 14): paired columns, compact cells.
    list_display = [
        "id",
        "placed",
        "user",
        "service_id",
        "short_link",
        "quantity",
        "charge_text",
        "status_relay",
        "provider_ref",
    ]
    list_display_links = ["id"]
    list_filter = [NeedsStaffFilter, "status", "relay_state", "source", "provider"]
    list_select_related = ["user", "provider"]
    search_fields = ["=id", "link", "user__username", "user__email", "=provider_order_id"]
    show_full_result_count = False  # no COUNT over millions of orders
    list_per_page = 100
    inlines = [OrderEventInline]
    actions = [
        "cancel_with_return",
        "mark_partial",
        "mark_in_progress",
        "mark_completed",
        "resend",
        "reconcile",
        "hold_for_investigation",  # issue 13 (R-AUP-2)
        "mark_overlapped",  # R-ORD-12
    ]
    fieldsets = [
        (None, {"fields": ["user", "service", "link", "quantity", "extra", "source"]}),
        ("Drip-feed (R-ORD-10)", {"fields": ["parent", "portion", "due_at", "stopped_at"]}),
        ("Money", {"fields": ["charge", "rate", "paid_promotional", "paid_deposited", "refunded"]}),
        (
            "Status",
            {
                "fields": [
                    "status",
                    "start_count",
                    "remains",
                    "created_at",
                    "completed_at",
                    "cancel_requested_at",
                    "overlapped",
                ]
            },
        ),
        (
            "Relay",
            {
                "fields": [
                    "relay_state",
                    "provider",
                    "provider_service",
                    "provider_order_id",
                    "relay_attempts",
                    "routes_tried",
                    "next_attempt_at",
                    "lease_until",
                    "relay_error",
                    "sent_at",
                    "poll_due_at",
                    "polled_at",
                ]
            },
        ),
        (
            "Snapshot at placement (R-CAT-2)",
            {
                "fields": [
                    "service_name",
                    "service_type",
                    "min_quantity",
                    "max_quantity",
                    "can_cancel",
                    "refill",
                    "refill_days",
                    "dripfeed",
                    "beta",
                    "idempotency_key",
                ]
            },
        ),
    ]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Order._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # view only: every change is an action calling a service

    def has_delete_permission(self, request, obj=None):
        return False

    def has_money_permission(self, request) -> bool:
        """Actions that return money: Finance and Admin roles, never Support (issue 11)."""
        return request.user.has_perm("support.order_money_actions")

    @admin.display(description="Link")
    def short_link(self, obj) -> str:
        return obj.link if len(obj.link) <= 30 else obj.link[:29] + "…"

    @admin.display(description="Placed", ordering="created_at")
    def placed(self, obj) -> str:
        return timezone.localtime(obj.created_at).strftime("%m-%d\u00a0%H:%M")

    @admin.display(description="Charge", ordering="charge")
    def charge_text(self, obj) -> str:
        return usd_text(obj.charge)

    @admin.display(description="Status · relay", ordering="status")
    def status_relay(self, obj) -> str:
        return f"{obj.get_status_display()} · {obj.relay_state}"

    @admin.display(description="Provider order", ordering="provider_order_id")
    def provider_ref(self, obj) -> str:
        if obj.provider_id is None:
            return "—"
        return f"{obj.provider.name} #{obj.provider_order_id or '?'}"

    @admin.action(description="Put on hold under investigation (R-AUP-2; legal.Hold)")
    def hold_for_investigation(self, request, queryset):
        from legal.exceptions import HoldRefused
        from legal.services import order_hold

        form, page = _action_form(
            self, request, queryset, form_class=ReasonForm,
            title="Hold under investigation (not sent to a provider until released)",
            action="hold_for_investigation",
        )  # fmt: skip
        if form is None:
            return page
        for order in queryset.order_by("pk"):
            try:
                order_hold(
                    order_id=order.pk, reason=form.cleaned_data["reason"], actor=request.user
                )
            except HoldRefused as refusal:
                self.message_user(request, refusal.message, messages.ERROR)
            else:
                self.message_user(request, f"Order #{order.pk} is on hold.")
        return None

    @admin.action(description="Mark overlapped: no refill, no claims (R-ORD-12)")
    def mark_overlapped(self, request, queryset):
        form, page = _action_form(
            self, request, queryset, form_class=ReasonForm,
            title="Mark overlapped: the order loses its refill and its claims (R-ORD-12)",
            action="mark_overlapped",
        )  # fmt: skip
        if form is None:
            return page
        reason = form.cleaned_data["reason"]
        _each(
            self,
            request,
            queryset,
            lambda o: order_mark_overlapped(order_id=o.pk, actor=request.user, reason=reason),
            "marked overlapped",
        )
        return None

    @admin.action(description="Cancel with a full return", permissions=["money"])
    def cancel_with_return(self, request, queryset):
        form, page = _action_form(
            self,
            request,
            queryset,
            form_class=ReasonForm,
            title="Cancel with a full return",
            action="cancel_with_return",
        )
        if form is None:
            return page
        reason = form.cleaned_data["reason"]
        _each(
            self,
            request,
            queryset,
            lambda o: order_staff_cancel(order_id=o.pk, actor=request.user, reason=reason),
            "canceled with a full return",
        )
        return None

    @admin.action(description="Mark Partial (returns the undelivered part)", permissions=["money"])
    def mark_partial(self, request, queryset):
        form, page = _action_form(
            self,
            request,
            queryset,
            form_class=PartialForm,
            single=True,
            title="Mark Partial",
            action="mark_partial",
        )
        if form is None:
            return page
        data = form.cleaned_data
        _each(
            self,
            request,
            queryset,
            lambda o: order_staff_partial(
                order_id=o.pk, remains=data["remains"], actor=request.user, reason=data["reason"]
            ),
            "marked Partial",
        )
        return None

    @admin.action(description="Mark In progress (delivered by hand)")
    def mark_in_progress(self, request, queryset):
        form, page = _action_form(
            self,
            request,
            queryset,
            form_class=ProgressForm,
            single=True,
            title="Mark In progress",
            action="mark_in_progress",
        )
        if form is None:
            return page
        data = form.cleaned_data
        _each(
            self,
            request,
            queryset,
            lambda o: order_staff_progress(
                order_id=o.pk,
                status=Order.Status.IN_PROGRESS,
                actor=request.user,
                start_count=data["start_count"],
                remains=data["remains"],
            ),
            "marked In progress",
        )
        return None

    @admin.action(description="Mark Completed (delivered by hand)")
    def mark_completed(self, request, queryset):
        _each(
            self,
            request,
            queryset,
            lambda o: order_staff_progress(
                order_id=o.pk, status=Order.Status.COMPLETED, actor=request.user
            ),
            "marked Completed",
        )

    @admin.action(description="Send again (failed, unreconciled not at the provider, manual)")
    def resend(self, request, queryset):
        _each(
            self,
            request,
            queryset,
            lambda o: order_resend(order_id=o.pk, actor=request.user),
            "sent again",
        )

    @admin.action(description="Reconcile: the provider has it, record its order id")
    def reconcile(self, request, queryset):
        form, page = _action_form(
            self,
            request,
            queryset,
            form_class=ReconcileForm,
            single=True,
            title="Reconcile with the provider",
            action="reconcile",
        )
        if form is None:
            return page
        remote = form.cleaned_data["provider_order_id"]
        _each(
            self,
            request,
            queryset,
            lambda o: order_reconcile(order_id=o.pk, provider_order_id=remote, actor=request.user),
            "reconciled",
        )
        return None


@admin.register(StaffQueueOrder)
class StaffQueueAdmin(OrderAdmin):
    """Orders waiting for staff: an ambiguous send to reconcile, a failed send, a manual
    service to deliver, an order the provider keeps Pending too long (``stuck``: ask the
    provider, cancel or resend; it leaves the queue by itself if the provider moves it).
    R-ORD-4: the customer sees these as Pending."""

    list_display = [
        "id",
        "placed",
        "user",
        "service_id",
        "short_link",
        "quantity",
        "status_relay",
        "provider",
        "relay_error",
    ]
    list_filter = ["relay_state", "provider"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(relay_state__in=STAFF_QUEUE_STATES)
            .exclude(status__in=FINAL_STATUSES)
        )


@admin.register(ReconcileOrder)
class ReconcileOrderAdmin(OrderAdmin):
    """Issue 9: one screen with the ambiguous sends of each provider (R-ORD-9). The provider
    may or may not have the order; staff look at the provider's panel, then resend it, record
    the provider's order id, or cancel it with a full return. The count per provider heads
    the list; orders waiting longer than ``ORDERS_RECONCILE_ALERT_MINUTES`` were mailed about."""

    change_list_template = "orders/admin/reconcile_change_list.html"
    list_display = [
        "id",
        "provider",
        "reconcile_since",
        "waiting",
        "user",
        "service_id",
        "short_link",
        "quantity",
        "charge",
        "relay_error",
    ]
    list_filter = ["provider"]
    ordering = ["provider__name", "reconcile_since", "pk"]
    actions = ["resend", "reconcile", "cancel_with_return"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(relay_state=RelayState.RECONCILE)
            .exclude(status__in=FINAL_STATUSES)
        )

    @admin.display(description="Waiting")
    def waiting(self, obj) -> str:
        if obj.reconcile_since is None:
            return "-"
        minutes = int((timezone.now() - obj.reconcile_since).total_seconds() // 60)
        return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"

    def changelist_view(self, request, extra_context=None):
        per_provider = (
            self.get_queryset(request)
            .order_by()
            .values("provider__name")
            .annotate(count=Count("pk"))
            .order_by("provider__name")
        )
        extra = {"per_provider": list(per_provider), **(extra_context or {})}
        return super().changelist_view(request, extra_context=extra)


@admin.register(FlaggedService)
class FlaggedServiceAdmin(MoneyColumns, admin.ModelAdmin):
    """Services flagged with a pricing error (R-CAT-4) and their unfinished orders."""

    list_display = ["id", "name", "rate", "pricing_error_at", "pricing_error_note", "unfinished"]
    actions = ["cancel_orders"]
    search_fields = ["=id", "name"]

    def get_queryset(self, request):
        placed_before = Q(orders__created_at__lte=F("pricing_error_at"))
        return (
            super()
            .get_queryset(request)
            .filter(pricing_error_at__isnull=False)
            .annotate(
                unfinished_count=Count(
                    "orders", filter=placed_before & ~Q(orders__status__in=FINAL_STATUSES)
                )
            )
        )

    @admin.display(description="Unfinished orders placed before the flag")
    def unfinished(self, obj) -> int:
        return obj.unfinished_count

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Cancel their unfinished orders with a full return (R-CAT-4)")
    def cancel_orders(self, request, queryset):
        total = 0
        for service in queryset:
            total += orders_cancel_pricing_error(service_id=service.pk, actor=request.user)
        self.message_user(request, f"{total} orders canceled with a full return.")


class BlockedPatternForm(forms.ModelForm):
    class Meta:
        model = BlockedPattern
        fields = ["kind", "pattern", "note", "enabled"]

    def clean(self):
        data = super().clean()
        if data.get("kind") == BlockedPattern.Kind.REGEX and data.get("pattern"):
            try:
                re.compile(data["pattern"])
            except re.error as exc:
                self.add_error("pattern", f"Not a valid regular expression: {exc}")
        return data


@admin.register(BlockedPattern)
class BlockedPatternAdmin(admin.ModelAdmin):
    """R-AUP-1: links and keywords refused at placement."""

    form = BlockedPatternForm
    list_display = ["pattern", "kind", "enabled", "note", "created_at"]
    list_editable = ["enabled"]
    list_filter = ["kind", "enabled"]
    search_fields = ["pattern", "note"]


# --- refills (R-ORD-13): staff see them all and decide the manual ones -----------------------
class RefillEventInline(admin.TabularInline):
    model = RefillEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "old_status", "new_status", "cause", "actor", "note", "staff_only"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class CountForm(forms.Form):
    current_count = forms.IntegerField(
        min_value=0, help_text="The target's count now (R-ORD-13: below the end count to refill)."
    )


class RefillReconcileForm(forms.Form):
    provider_refill_id = forms.IntegerField(min_value=1, label="Provider's refill id")


def _refill_summary(refill) -> str:
    return f"#{refill.pk} of order #{refill.order_id} ({refill.get_status_display()})"


def _refill_form(modeladmin, request, queryset, *, form_class, title, action):
    return _action_form(
        modeladmin, request, queryset, form_class=form_class, title=title, action=action,
        noun="refill", summary=_refill_summary,
    )  # fmt: skip


def _each_refill(modeladmin, request, queryset, call, done: str) -> None:
    admin_apply_each(
        modeladmin, request, queryset.order_by("pk"), call,
        refused=StaffActionRefused, done=_counted("refill", done),
    )  # fmt: skip


@admin.register(Refill)
class RefillAdmin(admin.ModelAdmin):
    list_display = [
        "id", "created_at", "user", "order", "status", "relay_state", "provider",
        "provider_refill_id", "current_count", "reason",
    ]  # fmt: skip
    list_filter = ["status", "relay_state", "provider"]
    list_select_related = ["user", "provider", "order"]
    search_fields = ["=id", "=order__id", "user__username", "=provider_refill_id"]
    show_full_result_count = False
    inlines = [RefillEventInline]
    actions = ["approve", "complete", "reject", "reconcile"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Refill._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Approve with the current count (manual refills)")
    def approve(self, request, queryset):
        form, page = _refill_form(
            self, request, queryset, form_class=CountForm, title="Approve refill", action="approve"
        )
        if form is None:
            return page
        count = form.cleaned_data["current_count"]
        _each_refill(
            self, request, queryset,
            lambda r: refill_staff_approve(refill_id=r.pk, actor=request.user, current_count=count),
            "checked against the count",
        )  # fmt: skip
        return None

    @admin.action(description="Mark refilled (Completed)")
    def complete(self, request, queryset):
        _each_refill(
            self, request, queryset,
            lambda r: refill_staff_complete(refill_id=r.pk, actor=request.user),
            "completed",
        )  # fmt: skip

    @admin.action(description="Reject with a reason")
    def reject(self, request, queryset):
        form, page = _refill_form(
            self, request, queryset, form_class=ReasonForm, title="Reject refill", action="reject"
        )
        if form is None:
            return page
        reason = form.cleaned_data["reason"]
        _each_refill(
            self, request, queryset,
            lambda r: refill_staff_reject(refill_id=r.pk, actor=request.user, reason=reason),
            "rejected",
        )  # fmt: skip
        return None

    @admin.action(description="Reconcile: the provider's refill id")
    def reconcile(self, request, queryset):
        form, page = _refill_form(
            self, request, queryset, form_class=RefillReconcileForm, title="Reconcile refill",
            action="reconcile",
        )  # fmt: skip
        if form is None:
            return page
        remote = form.cleaned_data["provider_refill_id"]

        def call(refill):
            refill_reconcile(refill_id=refill.pk, actor=request.user, provider_refill_id=remote)

        _each_refill(self, request, queryset, call, "reconciled")
        return None


@admin.register(RefillUnsupported)
class RefillUnsupportedAdmin(admin.ModelAdmin):
    """Routes that answered ``refill`` with a server error; delete a row to try it again."""

    list_display = ["provider_service", "created_at", "detail"]
    readonly_fields = ["provider_service", "created_at", "detail"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# --- subscriptions (R-ORD-11): staff see them; cancel goes through the order's action ---------
class SubscriptionCycleInline(admin.TabularInline):
    model = SubscriptionCycle
    extra = 0
    can_delete = False
    fields = ["number", "ran_at", "outcome", "order", "note"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = [
        "order", "username", "state", "posts_done", "posts", "skipped_in_row", "next_cycle_at",
        "expiry",
    ]  # fmt: skip
    list_filter = ["state"]
    search_fields = ["=order__id", "username", "order__user__username"]
    inlines = [SubscriptionCycleInline]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Subscription._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
