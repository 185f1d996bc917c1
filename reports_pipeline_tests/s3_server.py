"""Real S3 endpoints on 127.0.0.1 for tests: moto in server mode, and an always-failing one.

    with S3TestServer() as server:
        bucket = server.create_bucket()
        upload_to_s3(path, "reports/x.csv", server.settings(bucket), content_type="text/csv")
        assert server.client().get_object(Bucket=bucket, Key="reports/x.csv")["Body"].read()

Credentials are fake and passed through settings, never through the environment. Moto keeps
its buckets in process-wide memory, so ``create_bucket`` makes unique names. Test-only: it
lives in the tests package so it is never shipped.
"""

import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
from botocore.config import Config
from moto.server import ThreadedMotoServer

from reports_pipeline.delivery.s3 import S3Settings

REGION = "us-east-1"
ACCESS_KEY_ID = "AKIATESTREPORTSPIPELINE"
SECRET_ACCESS_KEY = "moto-test-secret-key-not-a-real-one"


def _settings(endpoint_url: str, bucket: str, overrides: dict) -> S3Settings:
    values = {
        "bucket": bucket,
        "region": REGION,
        "endpoint_url": endpoint_url,
        "access_key_id": ACCESS_KEY_ID,
        "secret_access_key": SECRET_ACCESS_KEY,
        "timeout": 10.0,
    }
    return S3Settings(**{**values, **overrides})


class S3TestServer:
    """Moto's S3 on 127.0.0.1 and a free port; ``endpoint_url`` is set by :meth:`start`."""

    host = "127.0.0.1"
    region = REGION
    access_key_id = ACCESS_KEY_ID
    secret_access_key = SECRET_ACCESS_KEY

    def __init__(self):
        self._server = ThreadedMotoServer(ip_address=self.host, port=0, verbose=False)
        self.port: int | None = None
        self.endpoint_url: str | None = None
        self._running = False

    def start(self) -> "S3TestServer":
        self._server.start()
        self._running = True
        self.port = self._server.get_host_and_port()[1]
        self.endpoint_url = f"http://{self.host}:{self.port}"
        return self

    def stop(self) -> None:
        """Stop listening (connections are then refused); safe to call twice."""
        if self._running:
            self._server.stop()
            self._running = False

    def __enter__(self) -> "S3TestServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def settings(self, bucket: str, **overrides) -> S3Settings:
        """Client settings for ``bucket`` on this server, with the fake credentials."""
        return _settings(self.endpoint_url, bucket, overrides)

    def client(self):
        """A plain boto3 S3 client on this server, for arranging and inspecting."""
        return boto3.session.Session(
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            region_name=self.region,
        ).client(
            "s3", endpoint_url=self.endpoint_url, config=Config(s3={"addressing_style": "path"})
        )

    def create_bucket(self, prefix: str = "reports-test", *, versioned: bool = False) -> str:
        """Create a uniquely named bucket and return its name."""
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        client = self.client()
        client.create_bucket(Bucket=name)
        if versioned:
            client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        return name


class S3ErrorServer:
    """An HTTP server on 127.0.0.1 answering every request with one S3 error; counts requests.

    For errors moto does not produce on demand: ``S3ErrorServer(503, "SlowDown")``.
    """

    host = "127.0.0.1"

    def __init__(self, status: int, code: str, message: str = "test server error"):
        self.status, self.code, self.message = status, code, message
        self._lock = threading.Lock()
        self._requests: list[str] = []
        self._server = ThreadingHTTPServer((self.host, 0), self._handler())
        self.port = self._server.server_address[1]
        self.endpoint_url = f"http://{self.host}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _handler(self):
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # answers "Expect: 100-continue" at once

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                with owner._lock:
                    owner._requests.append(f"{self.command} {self.path}")
                body = (
                    '<?xml version="1.0" encoding="UTF-8"?>'
                    f"<Error><Code>{owner.code}</Code><Message>{owner.message}</Message></Error>"
                ).encode()
                self.send_response(owner.status)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_PUT = do_POST = do_DELETE = _answer

            def log_message(self, *args):
                pass

        return Handler

    def settings(self, bucket: str, **overrides) -> S3Settings:
        """Client settings for ``bucket`` on this server, with the fake credentials."""
        return _settings(self.endpoint_url, bucket, overrides)

    @property
    def requests(self) -> list[str]:
        """``"METHOD /path"`` of every request received, oldest first."""
        with self._lock:
            return list(self._requests)

    def __enter__(self) -> "S3ErrorServer":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
