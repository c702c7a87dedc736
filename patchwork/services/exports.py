"""The chronology as CSV and PDF: exactly the notes the exporter may see, and every export audited."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib.resources import files

from fpdf import FPDF
from sqlmodel import Session

from patchwork.clock import utcnow
from patchwork.crypto import Keyring
from patchwork.models import Account
from patchwork.services import audit, notes
from patchwork.services.notes import ChronologyFilters, NoteView

COLUMNS = (
    "Date observed",
    "Level",
    "Category",
    "Author",
    "Organisation",
    "Audience",
    "Family sharing",
    "Basis",
    "Note",
    "Edited",
    "Replies",
    "Posted at",
)


@dataclass(frozen=True)
class Export:
    filename: str
    media_type: str
    content: bytes
    rows: int


def _row(view: NoteView) -> list[str]:
    replies = " | ".join(f"{r.author}: {r.body if r.body is not None else '(redacted)'}" for r in view.replies)
    return [
        view.note.observed_on.isoformat(),
        view.note.level,
        view.category_label,
        view.author,
        view.organisation or "",
        view.audience_words,
        view.family_words,
        view.basis.words if view.basis else "",
        "(redacted)" if view.body is None else view.body,
        "yes" if view.edited else "no",
        replies,
        view.note.created_at.strftime("%Y-%m-%d %H:%M UTC"),
    ]


def _safe_cell(value: str) -> str:
    """Spreadsheets run cells that start like a formula; a leading apostrophe keeps them text."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def to_csv(views: list[NoteView]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for view in views:
        writer.writerow([_safe_cell(cell) for cell in _row(view)])
    return ("\ufeff" + buffer.getvalue()).encode()


def to_pdf(views: list[NoteView], *, title: str) -> bytes:
    pdf = FPDF(orientation="portrait", format="A4")
    fonts = files("patchwork").joinpath("data/fonts")
    pdf.add_font("Liberation", "", str(fonts.joinpath("LiberationSans-Regular.ttf")))
    pdf.add_font("Liberation", "B", str(fonts.joinpath("LiberationSans-Bold.ttf")))
    pdf.set_title(title)
    pdf.set_creator("Patchwork")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Liberation", "B", 16)
    pdf.multi_cell(0, 9, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Liberation", "", 9)
    pdf.multi_cell(
        0,
        5,
        f"Exported {utcnow().strftime('%-d %B %Y %H:%M')} UTC. {len(views)} notes, by date observed. "
        "Confidential: shared for safeguarding. Do not forward.",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    for view in views:
        pdf.ln(3)
        pdf.set_font("Liberation", "B", 10)
        heading = f"{view.note.observed_on.strftime('%-d %B %Y')} · {view.note.level} · {view.category_label}"
        pdf.multi_cell(0, 6, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Liberation", "", 9)
        author = view.author + (f", {view.organisation}" if view.organisation else "")
        pdf.multi_cell(
            0, 5, f"{author}. Seen by: {view.audience_words}. {view.family_words}", new_x="LMARGIN", new_y="NEXT"
        )
        if view.basis:
            pdf.multi_cell(0, 5, view.basis.words, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Liberation", "", 10)
        body = "This note was redacted." if view.body is None else view.body
        pdf.multi_cell(0, 5.5, body + (" (edited)" if view.edited else ""), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Liberation", "", 9)
        for reply in view.replies:
            text = reply.body if reply.body is not None else "(redacted)"
            pdf.multi_cell(0, 5, f"Reply from {reply.author}: {text}", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def export_chronology(
    *, session: Session, keys: Keyring, account: Account, network_id: str, filters: ChronologyFilters, fmt: str
) -> Export:
    views = notes.chronology(session=session, keys=keys, account=account, network_id=network_id, filters=filters)
    place = notes.standing(session=session, account=account, network_id=network_id)
    stamp = utcnow().strftime("%Y%m%d-%H%M")
    if fmt == "pdf":
        content = to_pdf(views, title="Chronology")
        media_type = "application/pdf"
    else:
        content = to_csv(views)
        media_type = "text/csv; charset=utf-8"
    audit.record(
        session=session,
        key=keys.audit,
        action="chronology.exported",
        actor_id=account.id,
        network_id=place.network.id,
        details={"format": fmt, "rows": len(views)},
    )
    return Export(filename=f"chronology-{stamp}.{fmt}", media_type=media_type, content=content, rows=len(views))
