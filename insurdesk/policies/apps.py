from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    name = "insurdesk.policies"
    label = "policies"
    verbose_name = "保单与缴费"

    def ready(self):
        from insurdesk.policies import daily, hooks, workbench  # noqa: F401  (duties and tiles register)

        hooks.connect()
