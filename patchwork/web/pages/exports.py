"""Chronology downloads: CSV and PDF, exactly what the exporter may see; each download is audited."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from patchwork import policy
from patchwork.errors import NotFound
from patchwork.services import exports
from patchwork.web.context import runtime
from patchwork.web.filters import chronology_filters
from patchwork.web.pages.common import signed_in


async def _download(request: Request, fmt: str) -> Response:
    viewer = signed_in(request)
    if not policy.practitioner_work(viewer.actor):
        raise NotFound()
    rt = runtime(request)
    filters = chronology_filters(request.query_params)
    export = await rt.db.run(
        lambda session: exports.export_chronology(
            session=session,
            keys=rt.keys,
            account=viewer.account,
            network_id=request.path_params["network_id"],
            filters=filters,
            fmt=fmt,
        )
    )
    return Response(
        export.content,
        media_type=export.media_type,
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"'},
    )


async def chronology_csv(request: Request) -> Response:
    return await _download(request, "csv")


async def chronology_pdf(request: Request) -> Response:
    return await _download(request, "pdf")


routes = [
    Route("/networks/{network_id}/chronology.csv", chronology_csv, methods=["GET"]),
    Route("/networks/{network_id}/chronology.pdf", chronology_pdf, methods=["GET"]),
]
