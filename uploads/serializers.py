from django.core.validators import ProhibitNullCharactersValidator
from rest_framework import serializers
from rest_framework.reverse import reverse

from common.serializers import ModelSerializer  # fields built once per class

from .models import File


class FileOutputSerializer(ModelSerializer):
    uploaded_by = serializers.IntegerField(source="uploaded_by_id", allow_null=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = File
        fields = [
            "id",
            "key",
            "original_name",
            "size",
            "mime_type",
            "sha256",
            "status",
            "uploaded_by",
            "created_at",
            "updated_at",
            "download_url",
        ]

    def get_download_url(self, file) -> str:
        return reverse("file-download", args=[file.pk], request=self.context.get("request"))


class FilesOutputSerializer(serializers.Serializer):
    files = FileOutputSerializer(many=True)


class ImageOutputSerializer(serializers.Serializer):
    original = FileOutputSerializer()
    processed = FileOutputSerializer()
    width = serializers.IntegerField()
    height = serializers.IntegerField()


class ImageQueuedOutputSerializer(serializers.Serializer):
    """202: a large image; its JPEG is made by the job `job_id` (then `file.processed`)."""

    original = FileOutputSerializer()
    processed = FileOutputSerializer(allow_null=True)
    job_id = serializers.IntegerField()


class FileNameField(serializers.CharField):
    """Any string: uploads.pipeline.names decides, so a NUL byte gets `filename_invalid` like in a multipart name."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators = [v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)]


class PresignInputSerializer(serializers.Serializer):
    filename = FileNameField(max_length=10_000, trim_whitespace=False)
    content_type = serializers.CharField(max_length=200)
    size = serializers.IntegerField(min_value=0)


class PresignOutputSerializer(serializers.Serializer):
    upload_url = serializers.URLField()
    method = serializers.CharField()
    fields = serializers.DictField(child=serializers.CharField())
    file_key = serializers.CharField()
    expires_in = serializers.IntegerField()


class ConfirmInputSerializer(serializers.Serializer):
    file_key = serializers.CharField(max_length=500)
