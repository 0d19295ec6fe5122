"""A report as a file: standalone HTML (charts inline), PDF (WeasyPrint, from the same
HTML), XLSX (openpyxl, one sheet per table) and JSON. Every format shows the same cells."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from iba_workflow import paths
from iba_workflow.errors import InvalidInput

from .build import Report

FORMATS = ("html", "pdf", "xlsx", "json")


def render(report: Report, fmt: str, *, templates: Path | None = None) -> bytes:
    if fmt == "html":
        return render_html(report, templates=templates).encode("utf-8")
    if fmt == "pdf":
        return html_to_pdf(render_html(report, templates=templates, for_print=True))
    if fmt == "xlsx":
        return render_xlsx(report)
    if fmt == "json":
        text = json.dumps(report.to_json(), indent=2, ensure_ascii=False)
        return (text + "\n").encode("utf-8")
    raise InvalidInput(f"unknown format {fmt!r}", hint="use " + ", ".join(FORMATS))


def _environment(templates: Path | None) -> Environment:
    return Environment(
        loader=FileSystemLoader(str(templates or paths.templates_dir())),
        autoescape=select_autoescape(["html", "j2"]),
    )


def cell_text(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.1f}".replace(".", ",")
    return str(value)


def render_html(report: Report, *, templates: Path | None = None, for_print: bool = False) -> str:
    env = _environment(templates)
    env.filters["cell"] = cell_text
    charts = [(c.title, base64.b64encode(c.png).decode("ascii")) for c in report.charts]
    return env.get_template("reports/report.html.j2").render(
        report=report, charts=charts, for_print=for_print
    )


def html_to_pdf(html: str) -> bytes:
    from weasyprint import HTML  # Pango via Debian; imported only when a PDF is asked for

    return bytes(HTML(string=html).write_pdf())


def render_xlsx(report: Report) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    first = book.active
    if first is not None:
        book.remove(first)
    for t in report.tables:
        sheet = book.create_sheet(t.title[:31].replace("→", "-"))
        sheet.append([t.title])
        sheet["A1"].font = Font(bold=True)
        sheet.append(t.columns)
        for c in sheet[2]:
            c.font = Font(bold=True)
        for row in t.rows:
            sheet.append(list(row))
        if t.note:
            sheet.append([])
            sheet.append([t.note])
        sheet.column_dimensions["A"].width = 34
    about = book.create_sheet("Om rapporten")
    about.append(["Indsats", report.name])
    about.append(["Periode", f"{report.period_from} – {report.period_to}"])
    about.append(["Små tal", f"celler under {report.threshold} vises som <{report.threshold}"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
