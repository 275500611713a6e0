"""TLS for the API server: a CA and a serving certificate, generated once into the data directory.

kubectl sends bearer tokens only over TLS, so the API port is https. A real deployment can give its own
certificate and key (KUBEPLAY_TLS_CERT / KUBEPLAY_TLS_KEY) instead.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pem_key(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def paths() -> tuple[Path, Path, Path]:
    if settings.KUBEPLAY_TLS_CERT and settings.KUBEPLAY_TLS_KEY:
        cert = Path(settings.KUBEPLAY_TLS_CERT)
        return cert, Path(settings.KUBEPLAY_TLS_KEY), cert
    d = Path(settings.DATA_DIR) / "pki"
    return d / "apiserver.crt", d / "apiserver.key", d / "ca.crt"


def _san_values(cert: x509.Certificate) -> set[str]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    return {str(v) for v in ext.get_values_for_type(x509.IPAddress)} | set(ext.get_values_for_type(x509.DNSName))


def _wanted_names(hosts: list[str]) -> set[str]:
    """The names the serving certificate must carry: loopback, the in-cluster names, the bind address, and —
    when bound to every interface — this machine's own addresses, so students on the LAN can verify it."""
    names = {"localhost", "kubernetes", "kubernetes.default", "127.0.0.1", "::1", "10.96.0.1"}
    for h in hosts:
        if h in ("0.0.0.0", "::", ""):
            try:
                hostname = socket.gethostname()
                names.add(hostname)
                names.update(socket.gethostbyname_ex(hostname)[2])
            except OSError:
                pass
        else:
            names.add(h)
    return names


def ensure(hosts: list[str] | None = None) -> tuple[Path, Path, Path]:
    """Create the CA and serving certificate if missing, or re-issue the serving certificate (same CA, so every
    kubeconfig handed out stays valid) when it does not name a host asked for now. Returns (cert, key, ca)."""
    cert_path, key_path, ca_path = paths()
    wanted = _wanted_names(hosts or [])
    if settings.KUBEPLAY_TLS_CERT and settings.KUBEPLAY_TLS_KEY:
        return cert_path, key_path, ca_path
    ca_key_path = ca_path.with_name("ca.key")
    if cert_path.exists() and key_path.exists() and ca_path.exists() and ca_key_path.exists():
        current = x509.load_pem_x509_certificate(cert_path.read_bytes())
        if wanted <= _san_values(current):
            return cert_path, key_path, ca_path
        ca = x509.load_pem_x509_certificate(ca_path.read_bytes())
        ca_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
    else:
        cert_path.parent.mkdir(parents=True, exist_ok=True)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = _ca_certificate(ca_key)
        ca_key_path.write_bytes(_pem_key(ca_key))
        ca_key_path.chmod(0o600)
        ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = []
    for name in sorted(wanted):
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            sans.append(x509.DNSName(name))
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("kube-apiserver"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key_path.write_bytes(_pem_key(key))
    key_path.chmod(0o600)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path, ca_path


def _ca_certificate(ca_key) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    return (
        x509.CertificateBuilder()
        .subject_name(_name("kubeplay-ca"))
        .issuer_name(_name("kubeplay-ca"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
