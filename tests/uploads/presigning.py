"""The client side of a presigned upload, as a browser or SDK does it."""

from .conftest import ACME, PDF


def presign(api, token, filename="scan.pdf", content_type="application/pdf", size=None, host=ACME):
    size = len(PDF) if size is None else size
    return api.post(
        "/api/upload/presign",
        host=host,
        token=token,
        json={"filename": filename, "content_type": content_type, "size": size},
    )


def post_to(uploader, presigned, content, filename="whatever.bin", host=ACME):
    """What a browser does with a presign: the fields, then the file last; no Authorization header."""
    path = presigned["upload_url"].removeprefix(f"http://{host}")
    return uploader.post(path, [("file", filename, content)], token=None, host=host, fields=presigned["fields"])


def confirm(api, token, key, host=ACME):
    return api.post("/api/upload/confirm", host=host, token=token, json={"file_key": key})
