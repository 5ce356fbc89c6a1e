"""One attempt: pinned address with the original Host and TLS name, no redirects, timeouts."""

from __future__ import annotations

import datetime
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import certifi
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from beamit.devstack.processes import free_port
from beamit.webhooks.destinations import Destination
from beamit.webhooks.transport import post
from tests.webhook_receiver import Answer, Receiver


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def pinned(receiver: Receiver, host: str = "hooks.example.test", addresses: tuple[str, ...] = ("127.0.0.1",)):
    return Destination("http", host, receiver.server.server_address[1], "/hooks/beamit?x=1", addresses)


def test_connects_to_the_pinned_address_with_the_original_host(receiver):
    outcome = post(pinned(receiver), b'{"a":1}', {"Content-Type": "application/json", "X-Test": "1"})
    assert outcome.succeeded and outcome.status_code == 200 and outcome.error is None
    (request,) = receiver.requests
    assert request.headers["Host"] == f"hooks.example.test:{receiver.server.server_address[1]}"
    assert request.path == "/hooks/beamit?x=1"
    assert request.body == b'{"a":1}' and request.headers["X-Test"] == "1"


def test_redirects_are_not_followed(receiver):
    receiver.default = Answer(302, headers={"Location": "http://127.0.0.1:1/elsewhere"})
    outcome = post(pinned(receiver), b"{}", {})
    assert outcome.status_code == 302 and not outcome.succeeded
    assert len(receiver.requests) == 1


def test_retry_after_is_reported(receiver):
    receiver.default = Answer(503, headers={"Retry-After": "120"})
    outcome = post(pinned(receiver), b"{}", {})
    assert (outcome.status_code, outcome.retry_after, outcome.succeeded) == (503, "120", False)


def test_a_slow_endpoint_times_out(receiver):
    receiver.default = Answer(200, delay=2.0)
    outcome = post(pinned(receiver), b"{}", {}, timeout=0.5)
    assert outcome.status_code is None and outcome.error == "timeout: no answer within the attempt timeout"
    assert 400 <= outcome.latency_ms < 1500


def test_connection_refused_is_an_error():
    destination = Destination("http", "hooks.example.test", free_port(), "/", ("127.0.0.1",))
    outcome = post(destination, b"{}", {})
    assert outcome.status_code is None and outcome.error and outcome.error.startswith("connection failed")


def test_the_next_checked_address_is_tried_when_one_does_not_connect(receiver):
    outcome = post(pinned(receiver, addresses=("127.0.0.2", "127.0.0.1")), b"{}", {})
    assert outcome.succeeded


# --- TLS: the certificate is checked against the URL's host, not the pinned IP ---------------------


def _certificate(subject: str, issuer_key, issuer_name, key, *, ca: bool, sans: list[str] | None = None):
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), critical=False)
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                          encipher_only=False, decipher_only=False), critical=True)
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture
def tls_server(tmp_path):
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "BeamIt test CA")])
    ca = _certificate("BeamIt test CA", ca_key, ca_name, ca_key, ca=True)
    cert = _certificate("hooks.example.test", ca_key, ca_name, server_key, ca=False, sans=["hooks.example.test"])
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "server.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM) + server_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    server_names: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "server.pem")
    context.sni_callback = lambda sock, name, ctx: server_names.append(name)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server.server_address[1], str(tmp_path / "ca.pem"), server_names
    server.shutdown()
    server.server_close()


def test_tls_to_a_pinned_address_uses_the_hosts_name_for_sni_and_verification(tls_server, monkeypatch):
    port, ca_file, server_names = tls_server
    monkeypatch.setattr(certifi, "where", lambda: ca_file)
    outcome = post(Destination("https", "hooks.example.test", port, "/", ("127.0.0.1",)), b"{}", {})
    assert outcome.status_code == 204, outcome.error
    assert server_names == ["hooks.example.test"]


def test_tls_refuses_a_certificate_for_another_name(tls_server, monkeypatch):
    port, ca_file, _ = tls_server
    monkeypatch.setattr(certifi, "where", lambda: ca_file)
    outcome = post(Destination("https", "other.example.test", port, "/", ("127.0.0.1",)), b"{}", {})
    assert outcome.status_code is None and outcome.error and outcome.error.startswith("tls error")


def test_tls_refuses_an_untrusted_certificate(tls_server):
    port, _, _ = tls_server
    outcome = post(Destination("https", "hooks.example.test", port, "/", ("127.0.0.1",)), b"{}", {})
    assert outcome.status_code is None and outcome.error and outcome.error.startswith("tls error")
