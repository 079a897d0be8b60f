from django.apps import AppConfig


class ClaimsConfig(AppConfig):
    name = "insurdesk.claims"
    label = "claims"
    verbose_name = "理赔"
