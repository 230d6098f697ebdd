"""PAdES B-T: with ``SIGNING_TSA_URL`` set, the signature carries an RFC 3161 time stamp (a TSA on loopback)."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

from cordee.signing import keys
from cordee.signing.backends import to_asn1
from cordee.signing.pades import sign_pdf, validate_pdf
from tests.signing.pdfs import one_page

pytestmark = pytest.mark.django_db


def _tsa_under_the_deployment_ca() -> DummyTimeStamper:
    ca, key = (
        keys.current_ca(),
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
    )  # pyHanko's test TSA is RSA-only
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test TSA")]))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(ca.private_key, hashes.SHA256())
    )
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return DummyTimeStamper(tsa_cert=to_asn1(certificate), tsa_key=asn1_keys.PrivateKeyInfo.load(der))


@pytest.fixture
def tsa_url(settings) -> Iterator[str]:
    stamper = _tsa_under_the_deployment_ca()
    requests: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802  (http.server's name)
            request = tsp.TimeStampReq.load(self.rfile.read(int(self.headers["Content-Length"])))
            body = asyncio.run(stamper.async_request_tsa_response(request)).dump()
            requests.append(len(body))
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.SIGNING_TSA_URL = f"http://127.0.0.1:{server.server_address[1]}/tsa"
    yield settings.SIGNING_TSA_URL
    server.shutdown()
    server.server_close()
    assert requests, "the TSA was never asked"


def test_a_configured_tsa_stamps_the_signature_and_it_validates(alice, tsa_url):
    signed = sign_pdf(one_page(), alice, reason="Prescription")
    result = validate_pdf(signed)
    assert result.valid, result.problem
    assert result.timestamped and result.signed_at is not None
    assert abs(result.signed_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
    assert b"/SubFilter /ETSI.CAdES.detached" in signed
