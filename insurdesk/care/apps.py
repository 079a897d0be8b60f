from django.apps import AppConfig


class CareConfig(AppConfig):
    name = "insurdesk.care"
    label = "care"
    verbose_name = "客户关系"

    def ready(self):
        from insurdesk.care import workbench  # noqa: F401  (registers its home-page tiles)
