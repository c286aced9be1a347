"""Webhook selectors as the API server evaluates them (snapshots/admission_selectors.py), and the
certificate date read from a caBundle (snapshots/admission_cert.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from kubectl_datadog.snapshots.admission_cert import certificate_not_after
from kubectl_datadog.snapshots.admission_selectors import LabelSelector, parse_ssi_targets

EN = "admission.datadoghq.com/enabled"


@pytest.mark.parametrize("selector,labels,expected", [
    (None, {}, True),  # no selector: everything (unlike a Service's)
    ({}, {"a": "b"}, True),
    ({"matchLabels": {EN: "true"}}, {EN: "true"}, True),
    ({"matchLabels": {EN: "true"}}, {}, False),
    ({"matchLabels": {EN: "true"}}, {EN: "false"}, False),
    ({"matchExpressions": [{"key": EN, "operator": "NotIn", "values": ["false"]}]}, {}, True),
    ({"matchExpressions": [{"key": EN, "operator": "NotIn", "values": ["false"]}]}, {EN: "false"}, False),
    ({"matchExpressions": [{"key": EN, "operator": "NotIn", "values": ["false"]}]}, {EN: "yes"}, True),
    ({"matchExpressions": [{"key": "k", "operator": "In", "values": ["a", "b"]}]}, {"k": "b"}, True),
    ({"matchExpressions": [{"key": "k", "operator": "In", "values": ["a"]}]}, {}, False),
    ({"matchExpressions": [{"key": "k", "operator": "Exists"}]}, {"k": ""}, True),
    ({"matchExpressions": [{"key": "k", "operator": "Exists"}]}, {}, False),
    ({"matchExpressions": [{"key": "k", "operator": "DoesNotExist"}]}, {}, True),
    ({"matchExpressions": [{"key": "k", "operator": "DoesNotExist"}]}, {"k": "v"}, False),
    ({"matchExpressions": [{"key": "k", "operator": "Bogus"}]}, {"k": "v"}, False),
    ({"matchLabels": {"a": "1"}, "matchExpressions": [{"key": "b", "operator": "Exists"}]}, {"a": "1"}, False),
])
def test_label_selector(selector: dict | None, labels: dict, expected: bool) -> None:
    assert LabelSelector.from_dict(selector).matches(labels) is expected


def test_the_failing_requirement_is_named() -> None:
    sel = LabelSelector.from_dict({"matchExpressions": [
        {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system", "datadog"]}]})
    (r,) = sel.failing({"kubernetes.io/metadata.name": "datadog"})
    assert r.describe() == "kubernetes.io/metadata.name notin (kube-system,datadog)"
    assert LabelSelector().describe() == "(everything)"


def test_ssi_targets() -> None:
    targets, error = parse_ssi_targets('[{"name": "a", "namespaceSelector": {"matchNames": ["x"]}}, '
                                       '{"name": "b", "namespaceSelector": {"matchLabels": {"team": "t"}}, '
                                       '"podSelector": {"matchLabels": {"app": "w"}}}]')
    assert error == "" and [t.name for t in targets] == ["a", "b"]
    assert targets[0].matches("x", {}, {}) and not targets[0].matches("y", {}, {})
    assert targets[1].matches("y", {"team": "t"}, {"app": "w"}) and not targets[1].matches("y", {"team": "t"}, {})
    assert parse_ssi_targets("") == ((), "")
    assert parse_ssi_targets('{"name": "a"}')[1] == "DD_APM_INSTRUMENTATION_TARGETS is not a JSON list"


def _pem(not_after: dt.datetime) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Datadog")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc))
            .not_valid_after(not_after).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.mark.parametrize("when", [dt.datetime(2027, 11, 20, 9, 0, tzinfo=dt.timezone.utc),   # UTCTime
                                  dt.datetime(2051, 3, 4, 5, 6, 7, tzinfo=dt.timezone.utc)])  # GeneralizedTime
def test_certificate_not_after(when: dt.datetime) -> None:
    assert certificate_not_after(_pem(when)) == when
    assert certificate_not_after("junk\n" + _pem(when)) == when  # text before the block


@pytest.mark.parametrize("text", ["", "not a certificate", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"])
def test_unreadable_certificate_is_unknown(text: str) -> None:
    assert certificate_not_after(text) is None
