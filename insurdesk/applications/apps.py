from django.apps import AppConfig


class ApplicationsConfig(AppConfig):
    name = "insurdesk.applications"
    label = "applications"
    verbose_name = "投保单"

    def ready(self):
        from insurdesk.applications import workbench  # noqa: F401  (registers its home-page tiles)
