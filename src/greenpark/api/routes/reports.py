"""Report documents (greenpark.reports): the park scorecard, an enterprise's energy-utilisation report,
its GHG inventory and an M&V savings report as HTML, PDF or Excel downloads.

Role scoped: an enterprise user gets the reports of its own enterprise and of the M&V projects on its
own meters only (403 otherwise, whether or not the id exists); the park scorecard is for park admins
and auditors.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from greenpark.api.deps import BackendDep, ScopeDep
from greenpark.api.errors import forbidden, not_found
from greenpark.api.routes._shared import calendar_year, read_only_store
from greenpark.api.schemas import ERRORS

router = APIRouter(tags=["reports"], responses=ERRORS)


class ReportKind(str, Enum):
    park = "park"
    enterprise = "enterprise"
    carbon = "carbon"
    mv = "mv"


class DocFormat(str, Enum):
    html = "html"
    pdf = "pdf"
    xlsx = "xlsx"


class Lang(str, Enum):
    zh = "zh"
    en = "en"
    both = "both"


MEDIA = {"html": "text/html; charset=utf-8", "pdf": "application/pdf",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@router.get("/reports/{kind}", name="read_report",
            responses={200: {"content": {m.split(";")[0]: {} for m in MEDIA.values()},
                             "description": "the report document (Content-Disposition: attachment)"}})
def read_report(kind: ReportKind, scope: ScopeDep, backend: BackendDep,
                id: Annotated[str | None, Query(max_length=64, description="enterprise id (enterprise, carbon) or "
                                                "M&V project id (mv)")] = None,
                period: Annotated[str | None, Query(max_length=10, description="calendar year, e.g. 2025")] = None,
                format: DocFormat = DocFormat.html, lang: Lang = Lang.both) -> Response:
    """One report as a download: ``GET /api/v1/reports/park?period=2025&format=pdf``."""
    from greenpark.reports import model, render

    year = calendar_year(period) if period is not None else None
    subject = id
    if kind == ReportKind.park:
        if scope.enterprise is not None:
            raise forbidden("the park scorecard is for park admins and auditors; enterprise users get "
                            f"/api/v1/reports/enterprise?id={scope.enterprise}")
        subject = None
    elif kind in (ReportKind.enterprise, ReportKind.carbon):
        subject = id or scope.enterprise
        if subject is None:
            raise not_found(f"report {kind.value} needs ?id=<enterprise id>")
        scope.check_enterprise(subject)
    else:
        if id is None:
            raise not_found("report mv needs ?id=<M&V project id>; GET /api/v1/mv lists them")
        proj = next((p for p in scope.park.mv_projects if p.id == id), None)
        from greenpark.api.routes.mv import _mv_visible

        if proj is None or not _mv_visible(scope, proj):
            if scope.enterprise is not None:
                raise forbidden(f"M&V project '{id}' is not one of {scope.enterprise}'s projects")
            raise not_found(f"no M&V project '{id}'; GET /api/v1/mv lists them")
    lang_code = None if lang == Lang.both else lang.value

    def compute() -> tuple[bytes, str]:
        rep = model.build(kind.value, read_only_store(backend), scope.park, subject, year)
        return render.render(rep, format.value, lang_code), render.file_name(rep, format.value, lang_code)

    data, name = backend.results.get(("report", kind.value, subject, year, format.value, lang_code), compute)
    return Response(content=data, media_type=MEDIA[format.value],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
