"""One report model -> the bytes of a document (html, pdf, xlsx) and its default file name; the
entry point of the CLI (``greenpark report``) and the API (``GET /api/v1/reports/{kind}``)."""

from __future__ import annotations

import re

from greenpark.reports.model import Report

FORMATS = ("html", "pdf", "xlsx")


def render(report: Report, fmt: str, lang: str | None = None) -> bytes:
    """``report`` as ``fmt`` (html, pdf or xlsx); ``lang`` "zh", "en" or None (zh and en side by side)."""
    from greenpark.reports import html, pdf, xlsx
    from greenpark.reports.model import ReportError

    if fmt in ("html", "pdf") and lang not in report.html_cache:
        report.html_cache[lang] = html.document(report, lang)
    if fmt == "html":
        return report.html_cache[lang].encode("utf-8")
    if fmt == "pdf":
        return pdf.pdf_bytes(report, lang, report.html_cache[lang])
    if fmt == "xlsx":
        return xlsx.workbook_bytes(report, lang)
    raise ReportError(f"report format '{fmt}': use one of {', '.join(FORMATS)}")


def file_name(report: Report, fmt: str, lang: str | None = None) -> str:
    """``report-<kind>-<subject>-<period>[-<lang>].<fmt>`` with only safe characters."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{report.subject}-{report.period}")
    return f"report-{report.kind}-{safe}{'-' + lang if lang else ''}.{fmt}"
