from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "insurdesk.audit"
    label = "audit"
    verbose_name = "档案使用记录"
