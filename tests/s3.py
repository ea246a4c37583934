"""A local S3 server for the tests of uploads in an object store: moto's S3 in server mode, started once per
test process on a free port of 127.0.0.1 (no network, no account), and a bucket of each test's own.

    def test_x(s3_media):                    # settings.STORAGES["default"] is the project's S3 storage on it
        ...
        assert s3_media.keys() == ["papers/…"]
        s3_media.env                         # the same store for a gunicorn or a worker started by the test
"""

import logging
import uuid
from dataclasses import dataclass

import pytest

ACCESS_KEY, SECRET_KEY, REGION = "testing-access-key", "testing-secret-key", "us-east-1"


@pytest.fixture(scope="session")
def s3_endpoint():
    """The URL of a moto S3 server running in a thread of this test process."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def client(endpoint: str):
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                        region_name=REGION)


@dataclass
class Bucket:
    endpoint: str
    name: str

    @property
    def env(self) -> dict[str, str]:
        """The environment that points a process (gunicorn, run_worker) at this bucket."""
        return {"MEDIA_S3_BUCKET": self.name, "AWS_S3_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": ACCESS_KEY,
                "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_S3_REGION_NAME": REGION, "AWS_S3_ADDRESSING_STYLE": "path"}

    def keys(self, prefix: str = "") -> list[str]:
        """Every object's key, sorted."""
        found = client(self.endpoint).list_objects_v2(Bucket=self.name, Prefix=prefix)
        return sorted(item["Key"] for item in found.get("Contents", []))

    def get(self, key: str) -> bytes:
        return client(self.endpoint).get_object(Bucket=self.name, Key=key)["Body"].read()

    def put(self, key: str, body: bytes) -> None:
        client(self.endpoint).put_object(Bucket=self.name, Key=key, Body=body)


def storage_settings(bucket: Bucket) -> dict:
    """``settings.STORAGES["default"]`` as shuyuan/settings.py builds it from ``bucket.env``."""
    return {"BACKEND": "core.s3storage.MediaS3Storage", "OPTIONS": {
        "bucket_name": bucket.name, "location": "", "endpoint_url": bucket.endpoint, "region_name": REGION,
        "access_key": ACCESS_KEY, "secret_key": SECRET_KEY, "addressing_style": "path"}}


@pytest.fixture
def s3_media(s3_endpoint, settings, tmp_path):
    """Uploads in a new, empty bucket of the local S3 server (and MEDIA_ROOT a folder that must stay empty)."""
    bucket = Bucket(s3_endpoint, f"media-{uuid.uuid4().hex[:16]}")
    client(s3_endpoint).create_bucket(Bucket=bucket.name)
    settings.STORAGES = {**settings.STORAGES, "default": storage_settings(bucket)}
    yield bucket
    s3 = client(s3_endpoint)
    for key in bucket.keys():
        s3.delete_object(Bucket=bucket.name, Key=key)
    s3.delete_bucket(Bucket=bucket.name)
