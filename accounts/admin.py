from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from .models import User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "email", "status", "is_staff", "date_joined", "last_login"]
    list_filter = ["status", "is_staff", "is_superuser", "is_active"]
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        ("Panel", {"fields": ("status", "status_reason", "adult_confirmed_at")}),
    )
    readonly_fields = ["adult_confirmed_at", "last_login", "date_joined"]
