"""HTTP route of the national facade: one POST endpoint that always answers with an envelope."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from yibao.api import fsi_handlers  # noqa: F401 - registers the transaction handlers
from yibao.api.facade_route import answer

router = APIRouter(tags=["定点医药机构接口 (national facade)"])


@router.post(
    "/fsi/api/callService",
    summary="国家医保接口 callService: 9001, 1101, 2001, 2201–2208, 2101–2103, 2301–2305, 2401–2405, 2601, 3101–3103, 3201, 3605, 3606, 4101–4103, 5203, 5206",
    response_description="The national reply envelope: infcode 0 / -1, err_msg, output.",
)
async def call_service(request: Request) -> Response:
    return Response(
        await answer(await request.body(), request.headers), media_type="application/json; charset=utf-8"
    )
