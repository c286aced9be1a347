"""Certificates for one harness cluster: two CAs, serving certs and client certs.

Everything is written as PEM files into the cluster's state directory. Keys are EC P-256: quick to
generate and accepted by every Kubernetes component.
"""
from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALID = datetime.timedelta(days=3650)


def _key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _name(cn: str, orgs: tuple[str, ...] = ()) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


class CA:
    """A self-signed CA that issues leaf certificates."""

    def __init__(self, cn: str):
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(_name(cn)).issuer_name(_name(cn))
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + _VALID)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )

    @property
    def pem(self) -> bytes:
        return _cert_pem(self.cert)

    def issue(self, cn: str, *, orgs: tuple[str, ...] = (), client: bool = False,
              server: bool = False, dns: tuple[str, ...] = (), ips: tuple[str, ...] = ()) -> tuple[bytes, bytes]:
        """Return (cert_pem, key_pem) of a new leaf certificate."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
        usages = ([ExtendedKeyUsageOID.CLIENT_AUTH] if client else []) + \
                 ([ExtendedKeyUsageOID.SERVER_AUTH] if server else [])
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(cn, orgs)).issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + _VALID)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=False, key_cert_sign=False,
                                         crl_sign=False, content_commitment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False),
                           critical=True)
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                           critical=False)
        )
        sans: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
        sans += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return _cert_pem(builder.sign(self.key, hashes.SHA256())), _key_pem(key)


class ClusterPKI:
    """All the key material of one cluster, written under `dir` as <name>.crt / <name>.key."""

    def __init__(self, dir: Path):
        self.dir = dir
        dir.mkdir(parents=True, exist_ok=True)
        self.serving_ca = CA("kubectl-datadog-e2e-serving-ca")
        self.client_ca = CA("kubectl-datadog-e2e-client-ca")
        self.front_proxy_ca = CA("kubectl-datadog-e2e-front-proxy-ca")
        self._write("serving-ca.crt", self.serving_ca.pem)
        self._write("client-ca.crt", self.client_ca.pem)
        self._write("front-proxy-ca.crt", self.front_proxy_ca.pem)
        self._pair("apiserver", self.serving_ca.issue(
            "kube-apiserver", server=True,
            dns=("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                 "kubernetes.default.svc.cluster.local"),
            ips=("127.0.0.1",)))
        self._pair("front-proxy-client", self.front_proxy_ca.issue("front-proxy-client", client=True))
        # Service-account tokens are signed with RSA (the apiserver's default JWT algorithm RS256).
        sa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._write("sa.key", _key_pem(sa))
        self._write("sa.pub", sa.public_key().public_bytes(serialization.Encoding.PEM,
                                                           serialization.PublicFormat.SubjectPublicKeyInfo))

    def _write(self, name: str, data: bytes) -> Path:
        p = self.dir / name
        p.write_bytes(data)
        if name.endswith(".key"):
            p.chmod(0o600)
        return p

    def _pair(self, name: str, pair: tuple[bytes, bytes]) -> tuple[Path, Path]:
        return self._write(f"{name}.crt", pair[0]), self._write(f"{name}.key", pair[1])

    def path(self, name: str) -> str:
        return str(self.dir / name)

    def client(self, user: str, groups: tuple[str, ...] = ()) -> tuple[Path, Path]:
        """A client certificate for `user` in `groups`, signed by the client CA."""
        return self._pair(f"user-{user}", self.client_ca.issue(user, orgs=groups, client=True))

    def serving(self, name: str, dns: tuple[str, ...], ips: tuple[str, ...]) -> tuple[Path, Path]:
        """A serving certificate signed by the serving CA (used by the external-metrics server)."""
        return self._pair(name, self.serving_ca.issue(dns[0] if dns else name, server=True, dns=dns, ips=ips))
