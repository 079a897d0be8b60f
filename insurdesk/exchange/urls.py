from django.urls import path

from insurdesk.exchange import views

app_name = "exchange"

urlpatterns = [
    path("", views.index, name="index"),
    path("upload/", views.upload, name="upload"),
    path("template/", views.template, name="template"),
    path("runs/<int:pk>/", views.run_detail, name="run"),
    path("runs/<int:pk>/progress/", views.run_progress, name="run_progress"),
    path("runs/<int:pk>/report/", views.run_report, name="run_report"),
    path("runs/<int:pk>/resume/", views.run_resume, name="run_resume"),
    path("export/", views.exports, name="exports"),
    path("export/download/", views.export_download, name="export_list"),
    path("export/customer-file/", views.customer_file_lookup, name="customer_file_lookup"),
    path("customers/<int:pk>/file.xlsx", views.customer_file, name="customer_file"),
]
