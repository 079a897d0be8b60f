from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "insurdesk.compliance"
    label = "compliance"
    verbose_name = "合规与反洗钱"
