from django.apps import AppConfig


class LifecycleConfig(AppConfig):
    name = "insurdesk.lifecycle"
    label = "lifecycle"
    verbose_name = "归档与销毁"

    def ready(self):
        from insurdesk.lifecycle import checks  # noqa: F401  (registers the system checks)
