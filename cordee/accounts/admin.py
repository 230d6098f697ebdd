from django.contrib import admin

from cordee.accounts.models import Invitation, Membership, Professional, Staff, Structure, User


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ("email", "first_name", "last_name", "kind", "is_active")
    search_fields = ("email", "last_name")
    exclude = ("password",)


@admin.register(Structure)
class StructureAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "finess", "siret")


admin.site.register(Membership)
admin.site.register(Professional)
admin.site.register(Staff)
admin.site.register(Invitation)
