from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "insurdesk.api"
    label = "api"
    verbose_name = "REST API"
