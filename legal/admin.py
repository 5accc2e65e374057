from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from smmpanel.exceptions import DomainError

from . import services
from .models import Acceptance, DataExport, Document, Hold, HoldEvent, PrivacyRequest
from .privacy import privacy_request_close


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    """R-LEG-1: staff write drafts, preview them and publish them; a published version is
    read-only (a change is a new draft, "Copy as a new draft")."""

    list_display = ["kind", "version_label", "title", "effective_at", "published_at", "material",
                    "preview_link"]  # fmt: skip
    list_filter = ["kind", "material"]
    fields = ["kind", "title", "body", "effective_at", "material", "version", "published_at"]
    actions = ["publish", "copy_as_draft"]

    @admin.display(description="version")
    def version_label(self, obj) -> str:
        return f"v{obj.version}" if obj.version else "draft"

    @admin.display(description="preview")
    def preview_link(self, obj) -> str:
        return format_html('<a href="{}">Preview</a>', reverse("legal:preview", args=[obj.pk]))

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.is_published:
            return self.fields
        return ["version", "published_at"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return obj is None or not obj.is_published

    @admin.action(description="Publish selected drafts (assigns the next version number)")
    def publish(self, request, queryset):
        for document in queryset:
            try:
                published = services.document_draft_publish(document=document)
            except DomainError as exc:
                self.message_user(request, exc.message, messages.WARNING)
            else:
                self.message_user(request, f"Published {published}.")

    @admin.action(description="Copy as a new draft")
    def copy_as_draft(self, request, queryset):
        for document in queryset:
            Document.objects.create(
                kind=document.kind, title=document.title, body=document.body,
                material=False,
            )  # fmt: skip
        self.message_user(request, "Drafts made; edit, preview and publish them.")


@admin.register(Acceptance)
class AcceptanceAdmin(admin.ModelAdmin):
    list_display = ["user", "document", "accepted_at", "ip_address"]
    list_select_related = ["user", "document"]
    readonly_fields = ["user", "document", "accepted_at", "ip_address"]
    search_fields = ["user__username", "user__email"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


# --- holds (R-AUP-2) ---------------------------------------------------------------------------
class NoteForm(forms.Form):
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


def _hold_action(service, verb: str, explain: str):
    """An admin action that asks for a note, then calls ``service`` on each hold."""

    def action(modeladmin, request, queryset):
        form = NoteForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            for hold in queryset:
                try:
                    service(hold=hold, note=form.cleaned_data["note"], actor=request.user)
                except DomainError as exc:
                    modeladmin.message_user(request, f"{hold}: {exc.message}", messages.WARNING)
                else:
                    modeladmin.message_user(request, f"{hold}: {verb} done.")
            return None
        return TemplateResponse(
            request,
            "admin/legal/hold_action.html",
            {
                **modeladmin.admin_site.each_context(request),
                "title": f"{verb.capitalize()} holds",
                "verb": verb,
                "explain": explain,
                "form": form,
                "items": queryset,
                "action": request.POST["action"],
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "opts": modeladmin.model._meta,
            },
        )

    action.__name__ = f"hold_{verb}"
    action.short_description = f"{verb.capitalize()} selected holds (asks for a note)"
    return action


class HoldForm(forms.ModelForm):
    class Meta:
        model = Hold
        fields = ["user", "order", "reason"]
        help_texts = {"order": "Leave empty to hold the whole account."}

    def clean(self):
        cleaned = super().clean()
        order, user = cleaned.get("order"), cleaned.get("user")
        if order is not None and user is not None and order.user_id != user.pk:
            self.add_error("order", "This order belongs to another account.")
        return cleaned


class HoldEventInline(admin.TabularInline):
    model = HoldEvent
    fields = ["created_at", "old_status", "new_status", "note", "actor"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Hold)
class HoldAdmin(admin.ModelAdmin):
    """Investigations: open one with "Add hold"; end it with an action. Nothing is deleted."""

    form = HoldForm
    list_display = ["__str__", "user", "order", "status", "opened_at", "opened_by", "resolved_at"]
    list_filter = ["status"]
    list_select_related = ["user", "opened_by"]
    search_fields = ["user__username", "user__email", "order__id", "reason"]
    raw_id_fields = ["user", "order"]
    inlines = [HoldEventInline]
    actions = [
        _hold_action(services.hold_note, "note", "A review note; the hold stays open."),
        _hold_action(services.hold_release, "release", "The order or account goes on."),
        _hold_action(services.hold_reject, "reject",
                     "A held order is canceled with a full return; a held account is suspended."),
        _hold_action(services.hold_cancel, "cancel",
                     "A held order is canceled with a full return; a held account is closed."),
    ]  # fmt: skip

    def get_inlines(self, request, obj=None):
        return self.inlines if obj is not None else []

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["user", "order", "reason", "status", "opened_by", "opened_at", "resolved_at"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["user", "order", "reason"]
        return ["user", "order", "reason", "status", "opened_by", "opened_at", "resolved_at"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        if change:
            return
        data = form.cleaned_data
        if data.get("order") is not None:
            hold = services.order_hold(
                order_id=data["order"].pk, reason=data["reason"], actor=request.user
            )
        else:
            hold = services.account_hold(
                user=data["user"], reason=data["reason"], actor=request.user
            )
        obj.pk = hold.pk
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        return None


# --- privacy (R-PRV-3) -------------------------------------------------------------------------
@admin.register(PrivacyRequest)
class PrivacyRequestAdmin(admin.ModelAdmin):
    list_display = ["__str__", "kind", "status", "created_at", "handled_at", "handled_by"]
    list_filter = ["kind", "status"]
    search_fields = ["user__username", "user__email", "text"]
    readonly_fields = ["user", "kind", "text", "status", "created_at", "handled_at", "handled_by"]
    actions = ["close"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Mark as handled")
    def close(self, request, queryset):
        for item in queryset:
            privacy_request_close(request=item, actor=request.user)
        self.message_user(request, "Marked as handled.")


@admin.register(DataExport)
class DataExportAdmin(admin.ModelAdmin):
    """Who asked for their data and when; the archives themselves are not shown."""

    list_display = ["__str__", "status", "progress", "size", "created_at", "finished_at"]
    list_filter = ["status"]
    fields = ["user", "status", "progress", "size", "created_at", "finished_at"]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
