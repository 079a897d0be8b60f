from django.apps import AppConfig


class OrgConfig(AppConfig):
    name = "insurdesk.org"
    label = "org"
    verbose_name = "机构与用户"

    def ready(self):
        from insurdesk.org import signals, tiles  # noqa: F401  (sign-in audit receivers, home-page tiles)
