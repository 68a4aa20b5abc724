from tests.uploads.conftest import s3_server, s3_storage  # noqa: F401  (moto's S3, as uploads' tests use it)
