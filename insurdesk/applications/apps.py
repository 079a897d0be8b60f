from django.apps import AppConfig


class ApplicationsConfig(AppConfig):
    name = "insurdesk.applications"
    label = "applications"
    verbose_name = "投保单"
