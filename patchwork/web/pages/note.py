"""One note and what can be done to it: revise, redact, reply, acknowledge.

Each is a plain form that comes back to the note's place on the page; asked by htmx (the `HX-Request` header),
the answer is the note's card alone, swapped in place, so the page keeps its scroll position.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from patchwork.errors import Conflict, DomainError, Forbidden, Invalid
from patchwork.models import Account
from patchwork.services import notes, stream
from patchwork.web.context import runtime
from patchwork.web.pages.common import form_of, redirect, render, signed_in
from patchwork.web.pages.place import Place, load_place

DONE = {
    "note-revised": "Your note has been revised. The earlier version stays in its history.",
    "note-redacted": "The note has been redacted.",
    "reply-posted": "Your reply has been posted.",
    "note-acknowledged": "You have acknowledged the note.",
}
DONE_FOR_FAMILY = DONE | {
    "note-revised": "Your change has been saved. What it said before stays with it.",
    "note-redacted": "It has been removed.",
}
CARD = "notes/_card.html"


def in_place(request: Request) -> bool:
    """Asked for by htmx to swap one card (not a boosted page load)."""
    return request.headers.get("hx-request") == "true" and request.headers.get("hx-boosted") != "true"


def _before(value: str | None) -> str | None:
    """The older page of the feed the note was on, if any (a cursor: letters, digits, - and _ only)."""
    return value if value and len(value) <= 200 and all(c.isalnum() or c in "-_" for c in value) else None


async def _load_note(request: Request, *, audited: bool) -> tuple[Place, notes.NoteView, str]:
    viewer = signed_in(request)
    rt = runtime(request)
    note_id = request.path_params["note_id"]

    def load(session: Session) -> tuple[Place, notes.NoteView, str]:
        network_id = notes.network_of_note(session=session, account=viewer.account, note_id=note_id)
        cursor = stream.page_cursor(session=session, keys=rt.keys, network_id=network_id)
        item = notes.one_note(session=session, keys=rt.keys, account=viewer.account, note_id=note_id, audited=audited)
        return load_place(session, rt.keys, viewer, network_id), item, cursor

    return await rt.db.run(load)


async def note_page(
    request: Request,
    *,
    errors: dict[str, str] | None = None,
    values: Mapping[str, str] | None = None,
    status: int = 200,
    template: str = "notes/note.html",
    loaded: tuple[Place, notes.NoteView, str] | None = None,
    editing: str | None = None,
    done: str | None = None,
) -> Response:
    place, item, cursor = loaded or await _load_note(request, audited=status == 200 and done is None)
    return_to = (values or {}).get("return_to") or request.query_params.get("return_to") or "note"
    before = (values or {}).get("before") or request.query_params.get("before")
    context = {
        "place": place,
        "item": item,
        "errors": errors or {},
        "values": values or {},
        "return_to": "feed" if return_to == "feed" else "note",
        "return_before": _before(before),
        "live_cursor": cursor if template == "notes/note.html" else None,
        "editing": editing,
        "done": (DONE_FOR_FAMILY if place.family_view else DONE)[done] if done else None,
    }
    return render(request, CARD if in_place(request) else template, context, status)


async def show_note(request: Request) -> Response:
    return await note_page(request)


def _back(network_id: str, note_id: str, form: Mapping[str, str], notice: str) -> Response:
    """Without JavaScript: back to the note's own place, on the page of the feed it was on."""
    if form.get("return_to") == "note":
        return redirect(f"/notes/{note_id}?notice={notice}#note-{note_id}")
    before = _before(form.get("before"))
    page = f"before={before}&" if before else ""
    return redirect(f"/networks/{network_id}/notes?{page}notice={notice}#note-{note_id}")


def _refused(note_id: str, problem: DomainError) -> dict[str, str]:
    return {f"note-{note_id}": problem.message}


async def revise_form(request: Request) -> Response:
    loaded = await _load_note(request, audited=True)
    _, item, _ = loaded
    if not item.can_revise:
        message = "This note has been redacted" if item.redacted else "Only the author can revise this note"
        status = 409 if item.redacted else 403
        return await note_page(request, errors={f"note-{item.note.id}": message}, status=status, loaded=loaded)
    return await note_page(request, template="notes/revise.html", loaded=loaded, editing="revise")


async def redact_form(request: Request) -> Response:
    loaded = await _load_note(request, audited=True)
    _, item, _ = loaded
    if not item.can_redact:
        message = (
            "This note has already been redacted"
            if item.redacted
            else "Only the author or a lead professional can redact this note"
        )
        status = 409 if item.redacted else 403
        return await note_page(request, errors={f"note-{item.note.id}": message}, status=status, loaded=loaded)
    return await note_page(request, template="notes/redact.html", loaded=loaded, editing="redact")


NoteChange = Callable[[Session, Account, str, dict[str, str]], str]


async def _note_action(
    request: Request,
    change: NoteChange,
    *,
    notice: str,
    on_invalid: Callable[[str, Invalid, dict[str, str]], Awaitable[Response]] | None = None,
) -> Response:
    """Run one change to a note, then go back where the person came from; refusals re-render the note."""
    viewer = signed_in(request)
    rt = runtime(request)
    note_id = request.path_params["note_id"]
    form = await form_of(request)
    try:
        network_id = await rt.db.run(lambda session: change(session, viewer.account, note_id, form), writes_notes=True)
    except Invalid as problem:
        if on_invalid is None:
            raise
        return await on_invalid(note_id, problem, form)
    except (Conflict, Forbidden) as problem:
        return await note_page(request, errors=_refused(note_id, problem), values=form, status=problem.status)
    if in_place(request):
        return await note_page(request, values=form, done=notice)
    return _back(network_id, note_id, form, notice)


def _form_again(request: Request, template: str) -> Callable[[str, Invalid, dict[str, str]], Awaitable[Response]]:
    async def render_again(note_id: str, problem: Invalid, form: dict[str, str]) -> Response:
        editing = "revise" if template == "notes/revise.html" else "redact"
        return await note_page(
            request, errors=problem.fields, values=form, status=422, template=template, editing=editing
        )

    return render_again


async def revise(request: Request) -> Response:
    rt = runtime(request)

    def change(session: Session, account: Account, note_id: str, form: dict[str, str]) -> str:
        note = notes.revise(
            session=session,
            keys=rt.keys,
            account=account,
            note_id=note_id,
            body=form.get("body"),
            level=form.get("level") or None,
            thresholds=rt.settings.alert_thresholds,
        )
        return note.network_id

    return await _note_action(
        request, change, notice="note-revised", on_invalid=_form_again(request, "notes/revise.html")
    )


async def redact(request: Request) -> Response:
    rt = runtime(request)

    def change(session: Session, account: Account, note_id: str, form: dict[str, str]) -> str:
        note = notes.redact(
            session=session,
            keys=rt.keys,
            account=account,
            note_id=note_id,
            reason=form.get("reason"),
            thresholds=rt.settings.alert_thresholds,
        )
        return note.network_id

    return await _note_action(
        request, change, notice="note-redacted", on_invalid=_form_again(request, "notes/redact.html")
    )


async def reply(request: Request) -> Response:
    keys = runtime(request).keys

    def change(session: Session, account: Account, note_id: str, form: dict[str, str]) -> str:
        notes.reply(session=session, keys=keys, account=account, note_id=note_id, body=form.get("body"))
        return notes.network_of_note(session=session, account=account, note_id=note_id)

    async def reply_again(note_id: str, problem: Invalid, form: dict[str, str]) -> Response:
        field_id = f"reply-{note_id}"
        errors = {field_id: problem.fields.get("body", problem.message)}
        values = {
            field_id: form.get("body", ""),
            "return_to": form.get("return_to", ""),
            "before": form.get("before", ""),
        }
        return await note_page(request, errors=errors, values=values, status=422)

    return await _note_action(request, change, notice="reply-posted", on_invalid=reply_again)


async def acknowledge(request: Request) -> Response:
    keys = runtime(request).keys

    def change(session: Session, account: Account, note_id: str, form: dict[str, str]) -> str:
        notes.acknowledge(session=session, keys=keys, account=account, note_id=note_id)
        return notes.network_of_note(session=session, account=account, note_id=note_id)

    return await _note_action(request, change, notice="note-acknowledged")
