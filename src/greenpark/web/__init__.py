"""The dashboard: static pages served by ``greenpark serve`` that draw charts from the REST API.

No CDN: the chart library (Apache ECharts, ``static/vendor/echarts``) ships with the package, so
the dashboard works with no internet access. One HTML shell serves every page; ``static/app.js``
renders the page named by the URL, in Chinese or English (switchable, remembered by the browser).

Layer: an edge, installed on the API application; imports no greenpark layer below it and
never cli.
"""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

PAGES = ("/", "/login", "/enterprises/{enterprise_id}", "/meters/{meter_id}", "/air", "/water", "/imports", "/quarantine",
         "/sources", "/mv", "/mv/{project_id}", "/indicators")


def _static_dir() -> str:
    return str(resources.files(__package__).joinpath("static"))


DOCS_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; "
            "base-uri 'none'; form-action 'self'; object-src 'none'")


def install_docs(app: FastAPI, prefix: str, openapi_url: str) -> None:
    """The interactive API documentation at ``{prefix}/docs``: Swagger UI shipped in
    ``static/vendor/swagger-ui`` (served under ``{prefix}/docs/assets``), no CDN, no inline script."""
    assets = f"{prefix}/docs/assets"
    html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>greenpark API</title>
<link rel="stylesheet" href="{assets}/vendor/swagger-ui/swagger-ui.css">
<link rel="icon" type="image/png" href="{assets}/vendor/swagger-ui/favicon-32x32.png"></head>
<body data-openapi="{openapi_url}"><div id="swagger-ui"></div>
<script src="{assets}/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="{assets}/docs.js"></script></body></html>
"""

    async def docs() -> HTMLResponse:
        return HTMLResponse(html, headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY",
                                           "Content-Security-Policy": DOCS_CSP})

    app.add_api_route(f"{prefix}/docs", docs, methods=["GET"], include_in_schema=False, response_class=HTMLResponse,
                      name="api_docs")
    app.mount(assets, StaticFiles(directory=_static_dir()), name="api_docs_assets")


def install(app: FastAPI) -> None:
    shell = resources.files(__package__).joinpath("static", "index.html").read_text(encoding="utf-8")

    async def page() -> HTMLResponse:
        return HTMLResponse(shell, headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY",
                                            "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                                                                       "style-src 'self' 'unsafe-inline'; "
                                                                       "frame-ancestors 'none'; base-uri 'none'; "
                                                                       "form-action 'self'; object-src 'none'"})

    for path in PAGES:
        app.add_api_route(path, page, methods=["GET"], include_in_schema=False, response_class=HTMLResponse,
                          name=f"page{path.replace('/', '_').replace('{', '').replace('}', '')}")

    async def favicon() -> Response:
        return Response(status_code=204)

    app.add_api_route("/favicon.ico", favicon, methods=["GET"], include_in_schema=False)
    app.mount("/static", StaticFiles(directory=_static_dir()), name="static")
