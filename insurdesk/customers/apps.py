from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "insurdesk.customers"
    label = "customers"
    verbose_name = "客户档案"
