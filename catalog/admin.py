from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.timesince import timesince

from billing.admin_columns import MoneyColumns
from billing.money import currency_text

from .exceptions import ProviderUnavailable
from .forms import ProviderAdminForm, ProviderImportForm
from .models import (
    Category,
    CustomRate,
    Provider,
    ProviderService,
    ProviderUnclassifiedAnswer,
    Service,
    ServiceUpdate,
    StaffNotice,
)
from .provider_client import ProviderClient
from .services import (
    provider_balance_refresh,
    provider_save,
    service_flag_pricing_error,
    service_save,
    service_set_enabled,
    staff_notices_acknowledge,
)
from .sync import parse_remote_services, price_with_markup, provider_sync
from .tasks import provider_balance_refresh_task


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "platform", "position"]
    list_editable = ["platform", "position"]
    list_filter = ["platform"]
    search_fields = ["name"]


class ProviderServiceInline(admin.TabularInline):
    model = ProviderService
    extra = 0
    fields = [
        "provider", "remote_service_id", "remote_name", "priority", "provider_rate",
        "markup_percent", "available", "enabled",
    ]  # fmt: skip
    readonly_fields = ["remote_name", "available"]


OPTION_FIELDS = [
    "dripfeed", "refill", "refill_days", "cancel", "guarantee", "beta", "average_time_minutes",
    "link_rule", "link_pattern",
]  # fmt: skip
STATUS_FIELDS = [
    "enabled", "disabled_reason", "pricing_error_at", "pricing_error_note", "created_at",
    "updated_at",
]  # fmt: skip


@admin.register(Service)
class ServiceAdmin(MoneyColumns, admin.ModelAdmin):
    # Fits a 1280 px screen beside the filters (issue 14): min and max share a column; beta
    # is a filter only.
    list_display = [
        "id", "name", "category", "type", "rate", "limits", "refill", "enabled",
        "disabled_reason",
    ]  # fmt: skip
    list_display_links = ["id", "name"]
    list_filter = ["enabled", "disabled_reason", "category__platform", "type", "refill", "beta"]
    list_select_related = ["category"]
    list_per_page = 100
    search_fields = ["name", "=id", "category__name"]
    readonly_fields = ["disabled_reason", "pricing_error_at", "created_at", "updated_at"]
    inlines = [ProviderServiceInline]
    actions = ["enable_services", "disable_services", "flag_pricing_error"]
    fieldsets = [
        (None, {"fields": ["category", "name", "description", "type", "position"]}),
        ("Price and limits", {"fields": ["rate", "min_quantity", "max_quantity"]}),
        ("Options", {"fields": OPTION_FIELDS}),
        ("Status", {"fields": STATUS_FIELDS}),
    ]

    @admin.display(description="Limits", ordering="min_quantity")
    def limits(self, obj) -> str:
        return f"{obj.min_quantity:,}\u2013{obj.max_quantity:,}"

    def save_model(self, request, obj, form, change):
        service_save(service=obj)  # the form's model validation has refused beta + refill

    @admin.action(description="Enable the selected services")
    def enable_services(self, request, queryset):
        for service in queryset:
            service_set_enabled(service=service, enabled=True)
        messages.success(request, f"{queryset.count()} services enabled.")

    @admin.action(description="Disable the selected services")
    def disable_services(self, request, queryset):
        for service in queryset:
            service_set_enabled(service=service, enabled=False)
        messages.success(request, f"{queryset.count()} services disabled.")

    @admin.action(description="Flag a pricing error (disables; R-CAT-4)")
    def flag_pricing_error(self, request, queryset):
        for service in queryset:
            service_flag_pricing_error(
                service=service, note=f"Flagged in the admin by {request.user}.", actor=request.user
            )
        messages.warning(request, f"{queryset.count()} services flagged and disabled.")


UNCLASSIFIED_SHOWN = 20


class _ReadOnly:
    """Rows only the panel writes: staff look, never add, change or delete."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ProviderUnclassifiedAnswer)
class ProviderUnclassifiedAnswerAdmin(_ReadOnly, admin.ModelAdmin):
    """Error texts providers sent that ``catalog.provider_client`` could not classify, counted
    per provider: the list to grow the wording table from."""

    list_display = ["provider", "action", "text", "count", "first_seen", "last_seen"]
    list_filter = ["provider", "action"]
    search_fields = ["text"]
    ordering = ["provider__name", "-count"]


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    """The API key is write-only: never rendered, in forms, lists or anywhere (R-PRV-5)."""

    form = ProviderAdminForm
    change_form_template = "catalog/admin/provider_change_form.html"
    list_display = [
        "name", "api_url", "status", "balance_with_age", "last_synced_at", "short_error",
    ]  # fmt: skip
    list_filter = ["status"]
    search_fields = ["name"]
    readonly_fields = [
        "balance_with_age", "balance_checked_at", "last_synced_at", "last_error", "created_at",
        "unclassified_answers",
    ]  # fmt: skip
    actions = ["sync_selected", "refresh_balances"]

    def get_fields(self, request, obj=None):
        fields = ["name", "api_url", "api_key", "status", "balance_alert_threshold"]
        return fields + (self.readonly_fields if obj else [])

    @admin.display(description="Last error")
    def short_error(self, obj) -> str:
        return obj.last_error[:80]

    @admin.display(description="Unclassified answers")
    def unclassified_answers(self, obj) -> str:
        """Error texts of this provider the client's table does not know (issue 16)."""
        rows = obj.unclassified_answers.order_by("-count", "-last_seen")[:UNCLASSIFIED_SHOWN]
        if not rows:
            return "None so far."
        listing = reverse("admin:catalog_providerunclassifiedanswer_changelist")
        return format_html(
            "<table><tr><th>Action</th><th>Text</th><th>Count</th><th>Last seen</th></tr>{}"
            '</table><a href="{}?provider__id__exact={}">All of them</a>',
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                ((r.action, r.text, r.count, r.last_seen) for r in rows),
            ),
            listing,
            obj.pk,
        )

    # --- the balance and how old it is (issue 14) ---
    @admin.display(description="Balance", ordering="balance")
    def balance_with_age(self, obj) -> str:
        if obj.balance is None or obj.balance_checked_at is None:
            return "not fetched yet (action: Refresh the balance now)"
        age = timesince(obj.balance_checked_at, timezone.now()).split(",")[0]
        return f"{currency_text(obj.balance, obj.currency)} · {age} ago"

    def save_model(self, request, obj, form, change):
        provider_save(provider=obj, api_key=form.cleaned_data.get("api_key") or None)
        # A new provider or key: its balance now, not at the next beat poll.
        provider_balance_refresh_task.delay_on_commit(obj.pk)

    def get_urls(self):
        urls = super().get_urls()
        extra = [
            path(
                "<path:object_id>/import/",
                self.admin_site.admin_view(self.import_view),
                name="catalog_provider_import",
            ),
        ]
        return extra + urls

    @admin.action(description="Sync imported services from the provider")
    def sync_selected(self, request, queryset):
        reports = []
        for provider in queryset:
            try:
                report = provider_sync(provider=provider, import_new=False)
            except ProviderUnavailable as exc:
                messages.error(request, exc.message)
                continue
            messages.success(request, report.summary())
            reports.append(report)
        if not reports:
            return None
        return TemplateResponse(
            request,
            "catalog/admin/sync_report.html",
            {**self.admin_site.each_context(request), "title": "Sync report", "reports": reports},
        )

    @admin.action(description="Refresh the balance now")
    def refresh_balances(self, request, queryset):
        for provider in queryset:
            result = provider_balance_refresh(provider=provider)
            if result.ok:
                messages.success(
                    request,
                    f"{provider.name}: "
                    f"{currency_text(result.data['balance'], result.data['currency'])}",
                )
            else:
                messages.error(request, f"{provider.name}: {result.error}")

    def import_view(self, request, object_id):
        """Choose services of the provider to import or update, with a markup."""
        provider = self.get_object(request, object_id)
        if provider is None:
            raise Http404
        if not self.has_change_permission(request, provider):
            raise PermissionDenied
        change_url = reverse("admin:catalog_provider_change", args=[provider.pk])
        result = ProviderClient(provider).services()
        if not result.ok:
            messages.error(request, f"{provider.name}: {result.error}")
            return redirect(change_url)
        remote, skipped = parse_remote_services(result.data)
        routes = {
            route.remote_service_id: route
            for route in ProviderService.objects.filter(provider=provider).select_related("service")
        }
        form = ProviderImportForm(
            request.POST or None,
            remote_choices=[(item.id, item.name) for item in remote],
            initial={"remote_ids": list(routes)},
        )
        if request.method == "POST" and form.is_valid():
            try:
                report = provider_sync(
                    provider=provider,
                    remote_ids=form.cleaned_data["remote_ids"],
                    markup_percent=form.cleaned_data["markup_percent"],
                    update=form.cleaned_data["update"],
                )
            except ProviderUnavailable as exc:
                messages.error(request, exc.message)
                return redirect(change_url)
            messages.success(request, report.summary())
            return TemplateResponse(
                request,
                "catalog/admin/sync_report.html",
                {
                    **self.admin_site.each_context(request),
                    "title": f"Import from {provider.name}",
                    "reports": [report],
                    "provider": provider,
                },
            )
        selected = set(form["remote_ids"].value() or [])
        default_markup = settings.CATALOG_DEFAULT_MARKUP_PERCENT
        rows = [
            {
                "item": item,
                "route": routes.get(item.id),
                "checked": item.id in selected,
                "price_at_default": price_with_markup(item.rate, default_markup),
            }
            for item in remote
        ]
        return TemplateResponse(
            request,
            "catalog/admin/provider_import.html",
            {
                **self.admin_site.each_context(request),
                "title": f"Import services from {provider.name}",
                "opts": self.model._meta,
                "original": provider,
                "provider": provider,
                "form": form,
                "rows": rows,
                "skipped": skipped,
                "default_markup": default_markup,
            },
        )


@admin.register(CustomRate)
class CustomRateAdmin(MoneyColumns, admin.ModelAdmin):
    list_display = ["user", "service", "rate", "discount_percent", "note", "created_at"]
    list_select_related = ["user", "service"]
    search_fields = ["user__username", "user__email", "service__name"]
    autocomplete_fields = ["user", "service"]


@admin.register(ServiceUpdate)
class ServiceUpdateAdmin(MoneyColumns, admin.ModelAdmin):
    list_display = ["created_at", "service", "kind", "old_rate", "new_rate"]
    list_filter = ["kind"]
    list_select_related = ["service"]
    search_fields = ["service__name"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(StaffNotice)
class StaffNoticeAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "provider", "service", "message", "acknowledged_at"]
    list_filter = ["kind", ("acknowledged_at", admin.EmptyFieldListFilter)]
    list_select_related = ["provider", "service"]
    search_fields = ["message"]
    actions = ["acknowledge"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Mark as seen")
    def acknowledge(self, request, queryset):
        count = staff_notices_acknowledge(notices=queryset)
        messages.success(request, f"{count} notices marked as seen.")
