from django.apps import AppConfig


class ServicingConfig(AppConfig):
    name = "insurdesk.servicing"
    label = "servicing"
    verbose_name = "保全"

    def ready(self):
        from insurdesk.servicing import daily  # noqa: F401  (daily registers its duties)
