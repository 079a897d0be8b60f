from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from insurdesk.org.models import OrgUnit, User


@admin.register(OrgUnit)
class OrgUnitAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "level", "parent")
    search_fields = ("code", "name")


@admin.register(User)
class InsurdeskUserAdmin(UserAdmin):
    list_display = ("username", "last_name", "first_name", "role", "unit", "is_active")
    list_filter = ("role", "unit")
    fieldsets = UserAdmin.fieldsets + (("insurdesk", {"fields": ("role", "unit")}),)
