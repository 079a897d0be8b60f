from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "insurdesk.compliance"
    label = "compliance"
    verbose_name = "合规与反洗钱"

    def ready(self):
        from insurdesk.compliance import workbench  # noqa: F401  (registers its home-page tiles)
