"""The view every command shows for an install known only by its leftovers: the objects found and
one finding, in the command's own report kind (so `-o json` consumers see `install: null`)."""

from __future__ import annotations

from typing import Any

from kubectl_datadog.app import App
from kubectl_datadog.diagnose.leftovers import leftovers_finding
from kubectl_datadog.errors import OnlyLeftovers
from kubectl_datadog.output.render import Column, Table, View


def leftovers_view(kind: str, found: OnlyLeftovers, app: App, consequence: str,
                   data: dict[str, Any] | None = None) -> View:
    finding = leftovers_finding(found.leftovers, found.scope, consequence)
    columns = [Column("OBJECT", lambda lo: lo.ref), Column("ROLE", lambda lo: lo.role),
               Column("DETAIL", lambda lo: lo.detail or None)]
    return View(
        kind=kind,
        data={"install": None, **(data or {}), "leftovers": [lo.to_dict() for lo in found.leftovers]},
        sections=[Table(columns, list(found.leftovers))],
        findings=(finding,),
        metadata={"context": app.cluster().context.name, "generatedAt": app.now()},
    )
