"""The admission webhook's certificate, as far as it is public: the certificate Secret's cert.pem
(never its key), the 64-bit FNV-1 digest the DCA's status prints, and the notAfter date, read with
a minimal DER walk (reading a date needs no crypto library)."""

from __future__ import annotations

import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from kubectl_datadog.objects import decode_base64_field


@dataclass(frozen=True)
class CertificateSecret:
    """The DCA's `webhook-certificate` Secret: only the public certificate is kept (never the key)."""

    namespace: str
    name: str
    cert_pem: str  # "" when the Secret has no cert.pem
    has_key: bool


def parse_certificate_secret(obj: Mapping[str, Any]) -> CertificateSecret:
    meta = obj.get("metadata") or {}
    data = obj.get("data") or {}
    cert = decode_base64_field(data.get("cert.pem")) if "cert.pem" in data else ""
    return CertificateSecret(str(meta.get("namespace", "")), str(meta.get("name", "")), cert,
                             bool(data.get("key.pem")))


def fnv1_64(data: bytes) -> str:
    """64-bit FNV-1 (not 1a) as lowercase hex without padding: the DCA status "CA bundle digest" (A3)."""
    h = 0xcbf29ce484222325
    for b in data:
        h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
        h ^= b
    return format(h, "x")


def _der_items(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    """(tag, content start, content end) of the DER items between start and end."""
    out = []
    i = start
    while i < end:
        tag = data[i]
        length = data[i + 1]
        i += 2
        if length & 0x80:
            n = length & 0x7F
            length = int.from_bytes(data[i:i + n], "big")
            i += n
        out.append((tag, i, i + length))
        i += length
    return out


def certificate_not_after(pem: str) -> datetime | None:
    """notAfter of the first certificate of a PEM bundle (None when it cannot be read): the
    TBSCertificate's validity, read with a minimal DER walk (no crypto is needed to read a date)."""
    from datetime import timezone

    lines = pem.strip().splitlines()
    try:
        begin = next(i for i, line in enumerate(lines) if "BEGIN CERTIFICATE" in line)
        stop = next(i for i, line in enumerate(lines) if "END CERTIFICATE" in line and i > begin)
        der = binascii.a2b_base64("".join(lines[begin + 1:stop]))  # a PEM body, not an API field
        (_, cs, ce), = _der_items(der, 0, len(der))[:1]
        tbs = _der_items(der, cs, ce)[0]
        fields = _der_items(der, tbs[1], tbs[2])
        if fields and fields[0][0] == 0xA0:  # [0] version
            fields = fields[1:]
        validity = fields[3]
        not_after = _der_items(der, validity[1], validity[2])[1]
        text = der[not_after[1]:not_after[2]].decode("ascii")
        fmt = "%y%m%d%H%M%SZ" if not_after[0] == 0x17 else "%Y%m%d%H%M%SZ"
        return datetime.strptime(text, fmt).replace(tzinfo=timezone.utc)
    except (StopIteration, ValueError, IndexError, UnicodeDecodeError, binascii.Error):
        return None
