"""The API's certificate: made once, re-issued under the same CA when a new host must be named."""

from cryptography import x509

from cluster_core.api import tls


def names(path):
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(v) for v in ext.get_values_for_type(x509.IPAddress)} | set(ext.get_values_for_type(x509.DNSName))


def test_it_issues_once_and_reissues_for_a_new_host_under_the_same_ca(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    cert, key, ca = tls.ensure(["127.0.0.1"])
    assert {"127.0.0.1", "localhost", "10.96.0.1"} <= names(cert)
    first_ca, first_cert = ca.read_bytes(), cert.read_bytes()
    assert tls.ensure(["127.0.0.1"])[0].read_bytes() == first_cert
    tls.ensure(["192.0.2.7"])
    assert "192.0.2.7" in names(cert)
    assert ca.read_bytes() == first_ca
    issuer = x509.load_pem_x509_certificate(cert.read_bytes()).issuer
    assert issuer == x509.load_pem_x509_certificate(first_ca).subject
