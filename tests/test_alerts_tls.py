"""SMTP_URL with TLS and a password: smtp+starttls://user:pass@host and smtps://user:pass@host,
against aiosmtpd on loopback with a throw-away certificate (verified, not ignored)."""
from __future__ import annotations

import datetime as dt
import ipaddress
import smtplib
import ssl

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from alerts import sender
from alerts.mail import build_message, message_bytes
from tests.browser_helpers import free_port
from tests.smtp_helpers import SmtpSink, _Handler

x509 = pytest.importorskip("cryptography.x509")


def make_cert(tmp_path):
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"alerts@kaga.example.jp" and auth_data.password == b"p@ss:word"
    return AuthResult(success=ok, handled=False)


@pytest.mark.parametrize("scheme", ["smtp+starttls", "smtps"])
def test_tls_and_login(tmp_path, scheme):
    cert, key = make_cert(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=str(cert))
    sink = SmtpSink()
    port = free_port()
    kwargs = dict(authenticator=authenticator, auth_required=True, auth_require_tls=True)
    if scheme == "smtps":
        # implicit TLS: aiosmtpd only counts STARTTLS as TLS for its AUTH check, so that check is off here
        kwargs["auth_require_tls"] = False
        ctl = Controller(_Handler(sink), hostname="127.0.0.1", port=port, ssl_context=server_ctx, **kwargs)
    else:
        ctl = Controller(_Handler(sink), hostname="127.0.0.1", port=port, tls_context=server_ctx,
                         require_starttls=True, **kwargs)
    ctl.start()
    try:
        good = sender.parse_smtp_url(f"{scheme}://alerts%40kaga.example.jp:p%40ss%3Aword@127.0.0.1:{port}")
        with sender.connect(good, timeout=10, context=client_ctx) as conn:
            msg = build_message("alerts@kaga.example.jp", "duty@kaga.example.jp", "[テスト] TLS", "本文", "<p>本文</p>",
                                "<tls@kaga.example.jp>", dt.datetime.now(dt.UTC))
            conn.sendmail("alerts@kaga.example.jp", ["duty@kaga.example.jp"], message_bytes(msg))
        assert [m["Subject"] for m in sink.messages] == ["[テスト] TLS"]
        bad = sender.parse_smtp_url(f"{scheme}://alerts%40kaga.example.jp:wrong@127.0.0.1:{port}")
        with pytest.raises(smtplib.SMTPAuthenticationError):  # 535: a wrong password
            sender.connect(bad, timeout=10, context=client_ctx)
        with pytest.raises(ssl.SSLError):  # an unknown certificate is refused, not ignored
            sender.connect(good, timeout=10)
    finally:
        ctl.stop()
