from django.apps import AppConfig


class OrgConfig(AppConfig):
    name = "insurdesk.org"
    label = "org"
    verbose_name = "机构与用户"

    def ready(self):
        from insurdesk.org import signals  # noqa: F401  (connects the sign-in audit receivers)
