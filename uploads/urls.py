from django.urls import path

from . import apis

urlpatterns = [
    path("api/upload", apis.UploadApi.as_view(), name="upload"),
    path("api/upload/multiple", apis.UploadMultipleApi.as_view(), name="upload-multiple"),
    path("api/upload/image", apis.UploadImageApi.as_view(), name="upload-image"),
    path("api/upload/presign", apis.PresignApi.as_view(), name="upload-presign"),
    path("api/upload/confirm", apis.ConfirmApi.as_view(), name="upload-confirm"),
    path("api/upload/direct/<str:token>", apis.DirectUploadApi.as_view(), name="upload-direct"),
    path("api/files", apis.FileListApi.as_view(), name="file-list"),
    path("api/files/<uuid:file_id>", apis.FileDetailApi.as_view(), name="file-detail"),
    path("api/files/<uuid:file_id>/download", apis.FileDownloadApi.as_view(), name="file-download"),
]
