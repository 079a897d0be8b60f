from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "insurdesk.audit"
    label = "audit"
    verbose_name = "档案使用记录"

    def ready(self):
        from insurdesk.audit import daily  # noqa: F401  (registers the anchor duty)
