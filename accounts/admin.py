from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join

from legal.services import account_hold
from smmpanel.exceptions import DomainError

from . import services
from .models import AccountStatusChange, ApiKey, User
from .selectors import accounts_linked


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


def _status_action(service, verb: str):
    """An admin action that asks for the reason, then calls ``service`` per account."""

    def action(modeladmin, request, queryset):
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            done = 0
            for user in queryset:
                try:
                    service(user=user, reason=form.cleaned_data["reason"], actor=request.user)
                    done += 1
                except DomainError as exc:
                    modeladmin.message_user(request, f"{user}: {exc.message}", messages.WARNING)
            modeladmin.message_user(request, f"{verb.capitalize()}: {done} account(s).")
            return None
        return TemplateResponse(
            request,
            "admin/accounts/status_change.html",
            {
                **modeladmin.admin_site.each_context(request),
                "title": f"{verb.capitalize()} accounts",
                "verb": verb,
                "form": form,
                "accounts": queryset,
                "action": request.POST["action"],
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "opts": modeladmin.model._meta,
            },
        )

    action.__name__ = f"account_{verb}"
    # Support reads customers (R-SUP-2): changing an account's status needs change_user.
    action.allowed_permissions = ("change",)
    action.short_description = f"{verb.capitalize()} selected accounts (asks for the reason)"
    return action


class AccountStatusChangeInline(admin.TabularInline):
    model = AccountStatusChange
    fk_name = "user"
    fields = ["created_at", "old_status", "new_status", "reason", "actor"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "email", "status", "is_staff", "date_joined", "last_login"]
    list_filter = ["status", "is_staff", "is_superuser", "is_active"]
    fieldsets = (
        # --- the operators' view of a customer (issue 14) ---
        (
            "Money, orders and tickets",
            {"fields": ("balance_split", "ledger_links", "recent_orders", "recent_tickets")},
        ),
        *DjangoUserAdmin.fieldsets,
        ("Panel", {"fields": ("status", "status_reason", "adult_confirmed_at", "linked_accounts")}),
    )
    # R-ACC-5: the status changes only through the actions, which log the reason.
    readonly_fields = [
        "status", "status_reason", "adult_confirmed_at", "last_login", "date_joined",
        "linked_accounts",
        "balance_split", "ledger_links", "recent_orders", "recent_tickets",
    ]  # fmt: skip
    inlines = [AccountStatusChangeInline]
    actions = [
        _status_action(services.account_suspend, "suspend"),
        _status_action(services.account_reinstate, "reinstate"),
        _status_action(services.account_terminate, "close"),
        _status_action(account_hold, "hold"),  # R-AUP-2: investigation (legal.Hold)
    ]

    @admin.display(description="Linked accounts (R-ACC-4)")
    def linked_accounts(self, obj) -> str:
        """The accounts sharing a sign-up IP, card or device with this one: one group."""
        if obj is None or obj.pk is None:
            return "-"
        linked = User.objects.filter(pk__in=accounts_linked(user=obj)).order_by("pk")
        if not linked:
            return "None"
        items = format_html_join(
            ", ", '<a href="{}">{}</a>',
            ((reverse("admin:accounts_user_change", args=[u.pk]), u.username) for u in linked),
        )  # fmt: skip
        limit = settings.ACCOUNTS_LINKED_LIMIT
        over = f" — over the limit of {limit}: needs staff approval" if len(linked) > limit else ""
        return format_html("{} ({}{})", items, len(linked), over)

    # --- the operators' view of a customer (issue 14) ---
    @admin.display(description="Balance")
    def balance_split(self, obj) -> str:
        from billing.money import usd_text
        from billing.selectors import balance_get

        if obj.pk is None:
            return "—"
        balance = balance_get(user=obj)
        owed = (
            format_html(
                ', <span style="color: var(--error-fg)">Owed {}</span>', usd_text(balance.owed)
            )
            if balance.owed
            else ""
        )
        return format_html(
            "<strong>{}</strong> (Deposited Funds {}, Promotional Credit {}{})",
            usd_text(balance.total),
            usd_text(balance.deposited),
            usd_text(balance.promotional),
            owed,
        )

    @admin.display(description="Ledger")
    def ledger_links(self, obj) -> str:
        if obj.pk is None:
            return "—"
        links = [
            ("Transactions", "admin:billing_transaction_changelist"),
            ("Balances (accounts)", "admin:billing_account_changelist"),
            ("Deposits", "admin:billing_deposit_changelist"),
            ("Orders", "admin:orders_order_changelist"),
            ("Tickets", "admin:support_ticket_changelist"),  # once the support desk has them
        ]
        shown = []
        for label, name in links:
            try:
                shown.append((reverse(name) + f"?user__id__exact={obj.pk}", label))
            except NoReverseMatch:
                continue
        return format_html_join(" · ", '<a href="{}">{}</a>', shown)

    @admin.display(description="Recent orders")
    def recent_orders(self, obj) -> str:
        from billing.money import usd_text
        from orders.selectors import orders_recent_for_user

        orders = orders_recent_for_user(user=obj, limit=10) if obj.pk else []
        if not orders:
            return "No orders."
        rows = format_html_join(
            "",
            '<tr><td><a href="{}">#{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
            (
                (
                    reverse("admin:orders_order_change", args=[order.pk]),
                    order.pk,
                    order.created_at.strftime("%Y-%m-%d %H:%M"),
                    order.service_name,
                    usd_text(order.charge),
                    order.get_status_display(),
                )
                for order in orders
            ),
        )
        return format_html('<table class="recent-orders"><tbody>{}</tbody></table>', rows)

    @admin.display(description="Recent tickets")
    def recent_tickets(self, obj) -> str:
        """The customer's latest tickets, each opening on the desk where staff answer it."""
        from support.selectors import tickets_for_user

        tickets = list(tickets_for_user(user=obj)[:10]) if obj.pk else []
        if not tickets:
            return "No tickets."
        rows = format_html_join(
            "",
            '<tr><td><a href="{}">#{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>',
            (
                (
                    reverse("desk:ticket", args=[ticket.pk]),
                    ticket.pk,
                    ticket.updated_at.strftime("%Y-%m-%d %H:%M"),
                    ticket.subject,
                    ticket.get_status_display(),
                )
                for ticket in tickets
            ),
        )
        return format_html('<table class="recent-tickets"><tbody>{}</tbody></table>', rows)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are shown by prefix only; the stored hash cannot be turned back (R-KEY-2)."""

    list_display = ["prefix", "user", "created_at", "revoked_at", "last_used_at"]
    list_filter = ["revoked_at"]
    search_fields = ["user__username", "prefix"]
    fields = ["user", "prefix", "created_at", "revoked_at", "last_used_at"]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
