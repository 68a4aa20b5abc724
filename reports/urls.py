from django.urls import path

from . import apis

urlpatterns = [
    path("api/reports", apis.ReportListApi.as_view(), name="report-list"),
    path("api/reports/<uuid:report_id>", apis.ReportDetailApi.as_view(), name="report-detail"),
    path("api/reports/<uuid:report_id>/download", apis.ReportDownloadApi.as_view(), name="report-download"),
]
