from django.urls import path

from . import apis

urlpatterns = [
    path("api/jobs", apis.JobListApi.as_view(), name="job-list"),
    path("api/jobs/<int:job_id>", apis.JobDetailApi.as_view(), name="job-detail"),
    path("api/jobs/<int:job_id>/retry", apis.JobRetryApi.as_view(), name="job-retry"),
    path("api/jobs/<int:job_id>/cancel", apis.JobCancelApi.as_view(), name="job-cancel"),
    path("api/queue/stats", apis.QueueStatsApi.as_view(), name="queue-stats"),
]
