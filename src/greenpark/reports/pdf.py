"""The report as PDF: WeasyPrint renders the same HTML (:func:`greenpark.reports.html.document`) with
the CJK fonts of Debian's fonts-noto-cjk (Pango finds them through fontconfig); charts are the
same inline SVG. No browser, no network (a URL fetcher that allows only the page's own ``data:`` URLs)."""

from __future__ import annotations

from greenpark.errors import GreenparkError
from greenpark.reports.model import Report


class PdfUnavailable(GreenparkError):
    """WeasyPrint or its system libraries (Pango) are missing: the system, not the request, lacks them."""

    exit_status = 1
    http_status = 500
    code = "pdf_unavailable"


def pdf_bytes(report: Report, lang: str | None = None, html_text: str | None = None) -> bytes:
    from greenpark.reports.html import document

    try:
        import weasyprint
    except (ImportError, OSError) as exc:
        raise PdfUnavailable(f"PDF output needs WeasyPrint and Pango (pip install weasyprint; "
                             f"apt-get install libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk): {exc}") from None
    text = html_text if html_text is not None else document(report, lang)
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols={"data"})
    return weasyprint.HTML(string=text, url_fetcher=fetcher).write_pdf()
