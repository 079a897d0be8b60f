from django.apps import AppConfig


class UnderwritingConfig(AppConfig):
    name = "insurdesk.underwriting"
    label = "underwriting"
    verbose_name = "核保"

    def ready(self):
        from insurdesk.underwriting import hooks, workbench  # noqa: F401  (workbench registers tiles)

        hooks.connect()
