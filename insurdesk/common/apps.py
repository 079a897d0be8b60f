from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "insurdesk.common"
    label = "common"

    def ready(self):
        from django.db.backends.signals import connection_created

        from insurdesk.common.filestore import protect_sqlite_files

        connection_created.connect(protect_sqlite_files, dispatch_uid="insurdesk.protect_sqlite_files")
