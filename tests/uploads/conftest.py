"""Uploads tests: real storage (the test profile's data folder, or moto's S3 server
over HTTP), real PostgreSQL; files and bodies are generated here."""

from __future__ import annotations

import io
import uuid

import pytest
from PIL import Image

from tests.factories import member_make, token_make
from tests.helpers import tenant_files_remove

ACME, GLOBEX = "acme.localhost", "globex.localhost"


def image_bytes(fmt: str = "PNG", size=(64, 48), color=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, fmt)
    return out.getvalue()


PDF = (
    b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
    b"2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n"
)


def multipart(parts: list[tuple], fields: dict | None = None) -> tuple[bytes, str]:
    """A multipart body written by hand (names go out byte for byte, NULs and `../` included).
    parts: (field, filename, content[, content_type])."""
    boundary = uuid.uuid4().hex
    body = b""
    for name, value in (fields or {}).items():
        body += (
            (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n').encode()
            + value.encode()
            + b"\r\n"
        )
    for field, filename, content, *ctype in parts:
        filename_bytes = filename.encode("utf-8") if isinstance(filename, str) else filename
        body += (
            (f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="').encode()
            + filename_bytes
            + b'"\r\n'
            + f"Content-Type: {ctype[0] if ctype else 'application/octet-stream'}\r\n\r\n".encode()
            + content
            + b"\r\n"
        )
    body += f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


class Uploader:
    """Sends multipart bodies through the test client (the whole Django stack)."""

    def __init__(self, api):
        self.client = api.client

    def post(self, path: str, parts: list[tuple], *, token: str | None, host: str = ACME, fields=None):
        body, content_type = multipart(parts, fields)
        extra = {"HTTP_HOST": host}
        if token:
            extra["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        return self.client.generic("POST", path, body, content_type=content_type, **extra)

    def file(self, token, filename: str, content: bytes, host: str = ACME, field="file", path="/api/upload"):
        return self.post(path, [(field, filename, content)], token=token, host=host)


@pytest.fixture
def uploader(api):
    return Uploader(api)


@pytest.fixture
def people(acme, globex):
    """acme: owner, a member and another member; globex: owner and a member. Tokens."""
    member = member_make(acme, email="member@acme.test")
    other = member_make(acme, email="other@acme.test")
    globex_member = member_make(globex, email="member@globex.test")
    yield {
        "owner": acme.owner_token,
        "member": token_make(member),
        "other": token_make(other),
        "globex": token_make(globex_member),
        "member_user": member,
    }
    tenant_files_remove(acme)
    tenant_files_remove(globex)


def settings_set(tenant, **values) -> None:
    tenant.settings = {**(tenant.settings or {}), **values}
    tenant.save()


def stored_keys(tenant) -> list[str]:
    from uploads.pipeline.storage import object_keys, uploads_prefix

    return object_keys(uploads_prefix(tenant))


def file_rows(tenant) -> list:
    from django_tenants.utils import tenant_context

    from uploads.models import File

    with tenant_context(tenant):
        return list(File.objects.values_list("key", "status"))


@pytest.fixture(scope="session")
def s3_server():
    """moto's standalone S3 server over HTTP on a free port, with a bucket."""
    import boto3
    from moto.server import ThreadedMotoServer

    from tests.live import free_port

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).create_bucket(Bucket="uploads-test")
    yield endpoint
    server.stop()


@pytest.fixture
def s3_storage(s3_server, settings):
    """The default storage is S3 (django-storages' S3Storage) on moto, as AWS_STORAGE_BUCKET_NAME makes it."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": "uploads-test",
                "endpoint_url": s3_server,
                "region_name": "us-east-1",
                "access_key": "testing",
                "secret_key": "testing",
                "file_overwrite": False,
                "default_acl": None,
                "signature_version": "s3v4",
            },
        },
    }
    yield s3_server
