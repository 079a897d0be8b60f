from django.apps import AppConfig


class CareConfig(AppConfig):
    name = "insurdesk.care"
    label = "care"
    verbose_name = "客户关系"
