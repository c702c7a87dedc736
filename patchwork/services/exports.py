"""The chronology as CSV and PDF: exactly the notes the exporter may see, and every export audited."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from importlib.resources import files

from fpdf import FPDF
from sqlmodel import Session, col, select

from patchwork.clock import uk_time, utcnow
from patchwork.crypto import Keyring
from patchwork.models import Account, Organisation
from patchwork.models.networks import Child, Network
from patchwork.models.notes import CATEGORY_LABELS, Level, NoteKind
from patchwork.services import audit, children, notes
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


LEVEL_WORDS: dict[str, str] = {Level.observation: "Observation", Level.concern: "Concern", Level.urgent: "Urgent"}


@dataclass(frozen=True)
class Heading:
    """What the top of a printed chronology says: whose it is, who took it out of Patchwork and when, and how it was
    filtered, so that a page found on a desk can be judged for what it leaves out."""

    child_name: str
    exported_by: str  # "Helen Morgan, Northgate Health"
    exported_at: datetime
    filters: str  # in words: "Level: Concern. Observed from 1 March 2026."


def _day(day: date) -> str:
    return day.strftime("%-d %B %Y")


def filter_words(filters: ChronologyFilters, organisations: Mapping[str, str]) -> str:
    said = []
    if filters.categories:
        said.append("What it is about: " + ", ".join(sorted(CATEGORY_LABELS.get(c, c) for c in filters.categories)))
    if filters.levels:
        said.append("Level: " + ", ".join(LEVEL_WORDS[level] for level in Level if level in filters.levels))
    if filters.organisation_ids:
        names = sorted(organisations.get(o, "an organisation") for o in filters.organisation_ids)
        said.append("Organisation of the author: " + ", ".join(names))
    if filters.observed_from and filters.observed_to:
        said.append(f"Observed from {_day(filters.observed_from)} to {_day(filters.observed_to)}")
    elif filters.observed_from:
        said.append(f"Observed on or after {_day(filters.observed_from)}")
    elif filters.observed_to:
        said.append(f"Observed on or before {_day(filters.observed_to)}")
    return ". ".join(said) + "." if said else "None: every note the exporter may see."


def note_heading(view: NoteView) -> str:
    """One note's heading, "3 December 2026 · Concern · Attendance"; a family member's account is "Family voice"."""
    observed = _day(view.note.observed_on)
    if view.note.kind == NoteKind.family_voice:
        return f"{observed} · Family voice"
    return f"{observed} · {LEVEL_WORDS.get(view.note.level, view.note.level)} · {view.category_label}"


class _Document(FPDF):
    """A4 with the child's name and "Page 2 of 5" at the foot of every page."""

    def __init__(self, child_name: str) -> None:
        super().__init__(orientation="portrait", format="A4")
        self.child_name = child_name

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Liberation", "", 8)
        self.cell(0, 6, f"Chronology for {self.child_name} · Confidential · Page {self.page_no()} of {{nb}}", align="C")


def to_pdf(views: list[NoteView], *, heading: Heading) -> bytes:
    title = f"Chronology for {heading.child_name}"
    pdf = _Document(heading.child_name)
    fonts = files("patchwork").joinpath("data/fonts")
    pdf.add_font("Liberation", "", str(fonts.joinpath("LiberationSans-Regular.ttf")))
    pdf.add_font("Liberation", "B", str(fonts.joinpath("LiberationSans-Bold.ttf")))
    pdf.set_title(title)
    pdf.set_creator("Patchwork")
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()
    pdf.set_font("Liberation", "B", 16)
    pdf.multi_cell(0, 9, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Liberation", "", 9)
    for line in (
        f"Exported by {heading.exported_by} at {uk_time(heading.exported_at)}.",
        f"Filters: {heading.filters}",
        f"{len(views)} {'note' if len(views) == 1 else 'notes'}, by date observed. "
        "Confidential: shared for safeguarding. Do not forward.",
    ):
        pdf.multi_cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")
    for view in views:
        pdf.ln(3)
        pdf.set_font("Liberation", "B", 10)
        pdf.multi_cell(0, 6, note_heading(view), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Liberation", "", 9)
        if view.note.kind == NoteKind.family_voice:
            author = f"{view.author} (family)"
        else:
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


def _heading(
    session: Session, keys: Keyring, account: Account, network: Network, filters: ChronologyFilters, at: datetime
) -> Heading:
    child = session.get(Child, network.child_id)
    assert child is not None
    ids = set(filters.organisation_ids) | ({account.organisation_id} if account.organisation_id else set())
    names = dict(session.exec(select(Organisation.id, Organisation.name).where(col(Organisation.id).in_(ids))).all())
    organisation = names.get(account.organisation_id or "")
    return Heading(
        child_name=children.open_identity(keys.cipher, child).display_name,
        exported_by=account.name + (f", {organisation}" if organisation else ""),
        exported_at=at,
        filters=filter_words(filters, names),
    )


def export_chronology(
    *, session: Session, keys: Keyring, account: Account, network_id: str, filters: ChronologyFilters, fmt: str
) -> Export:
    views = notes.chronology(session=session, keys=keys, account=account, network_id=network_id, filters=filters)
    place = notes.standing(session=session, account=account, network_id=network_id)
    now = utcnow()
    stamp = now.strftime("%Y%m%d-%H%M")
    if fmt == "pdf":
        content = to_pdf(views, heading=_heading(session, keys, account, place.network, filters, now))
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
