from django.contrib import admin

from .models import Acceptance, Document


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ["kind", "version", "title", "effective_at", "updated_at", "material"]
    list_filter = ["kind", "material"]


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
