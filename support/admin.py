"""Admin: tickets and abuse reports are read-mostly; their actions call the services.

The desk (``/desk/``, ``support.desk``) is where Support staff work; the admin shows the same
rows to Admins, with the history, and edits only canned replies (plain content).
"""

from django.contrib import admin

from smmpanel.admin import admin_apply_each
from support.exceptions import SupportRefused
from support.models import (
    AbuseEvent,
    AbuseReport,
    Attachment,
    CannedReply,
    ClaimWindow,
    Ticket,
    TicketEvent,
    TicketMessage,
    TicketOrder,
)
from support.services import abuse_transition, ticket_close


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TicketMessageInline(ReadOnlyInline):
    model = TicketMessage
    fields = ["created_at", "author", "from_staff", "internal", "body"]


class TicketOrderInline(ReadOnlyInline):
    model = TicketOrder
    fields = ["order"]


class TicketEventInline(ReadOnlyInline):
    model = TicketEvent
    fields = ["created_at", "old_status", "new_status", "actor", "note"]


def _each(modeladmin, request, items, call, done: str) -> None:
    admin_apply_each(
        modeladmin, request, items, call, refused=SupportRefused, done=lambda n: f"{n} {done}."
    )


@admin.register(Ticket)
class TicketAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "user", "kind", "subject", "problem", "status", "assignee"]
    list_filter = ["status", "kind", "problem", "assignee"]
    search_fields = ["=id", "subject", "user__username", "user__email"]
    list_select_related = ["user", "assignee"]
    inlines = [TicketOrderInline, TicketMessageInline, TicketEventInline]
    actions = ["close_tickets"]

    @admin.action(description="Close the selected tickets", permissions=["view"])
    def close_tickets(self, request, queryset):
        _each(
            self,
            request,
            queryset.order_by("pk"),
            lambda t: ticket_close(ticket_id=t.pk, actor=request.user),
            "tickets closed",
        )


class AbuseEventInline(ReadOnlyInline):
    model = AbuseEvent
    fields = ["created_at", "old_status", "new_status", "actor", "note"]


class AbuseAttachmentInline(ReadOnlyInline):
    model = Attachment
    fk_name = "abuse_report"
    fields = ["id", "content_type", "size", "width", "height", "created_at"]


def _abuse_action(status: str, label: str):
    def action(modeladmin, request, queryset):
        _each(
            modeladmin,
            request,
            queryset.order_by("pk"),
            lambda r: abuse_transition(report_id=r.pk, new=status, actor=request.user),
            f"reports marked {label}",
        )

    action.__name__ = f"mark_{status}"
    action.short_description = f"Mark {label}"
    action.allowed_permissions = ["handle"]
    return action


@admin.register(AbuseReport)
class AbuseReportAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "status", "link", "order_reference", "ip_address"]
    list_filter = ["status", "created_at"]
    search_fields = ["=id", "link", "order_reference", "description", "email"]
    inlines = [AbuseAttachmentInline, AbuseEventInline]
    actions = [
        _abuse_action(status, label)
        for status, label in AbuseReport.Status.choices
        if status != AbuseReport.Status.NEW
    ]

    def has_handle_permission(self, request) -> bool:
        return request.user.has_perm("support.handle_abuse")


@admin.register(ClaimWindow)
class ClaimWindowAdmin(ReadOnlyAdmin):
    list_display = ["order", "opened_at", "closes_at", "closed_at"]
    list_filter = ["closed_at"]
    search_fields = ["=order__id"]
    raw_id_fields = ["order"]


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["title", "body"]
