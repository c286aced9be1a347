"""JUnit XML (-o junit): one testcase per check, one testsuite per group, as CI systems read it
(GitLab, Jenkins, GitHub test reporters: `failure` fails a case, `skipped` skips it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence
from xml.etree import ElementTree as ET

if TYPE_CHECKING:
    from kubectl_datadog.output.render import TestCase


def junit_xml(name: str, cases: "Sequence[TestCase]") -> str:
    suites: dict[str, list[TestCase]] = {}
    for case in cases:
        suites.setdefault(case.suite, []).append(case)
    root = ET.Element("testsuites", name=name, tests=str(len(cases)),
                      failures=str(sum(bool(c.failure) for c in cases)),
                      skipped=str(sum(bool(c.skipped) and not c.failure for c in cases)))
    for suite, items in suites.items():
        node = ET.SubElement(root, "testsuite", name=suite, tests=str(len(items)),
                             failures=str(sum(bool(c.failure) for c in items)),
                             skipped=str(sum(bool(c.skipped) and not c.failure for c in items)))
        for c in items:
            element = ET.SubElement(node, "testcase", classname=suite, name=c.name)
            if c.failure:
                ET.SubElement(element, "failure", message=c.failure, type=c.failure_type).text = c.details or None
            elif c.skipped:
                ET.SubElement(element, "skipped", message=c.skipped)
            if c.output:
                ET.SubElement(element, "system-out").text = c.output
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
