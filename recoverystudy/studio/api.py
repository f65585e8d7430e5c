"""The studio's JSON API, used by the coding page's script (every write needs the CSRF header)."""

from __future__ import annotations

import pandas as pd
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from recoverystudy.studio import data
from recoverystudy.studio._web import StudioError, coder_name, int_param, json_body, mutating

__all__ = ["ROUTES"]


def _doc(request: Request) -> int:
    return int_param(request.path_params["doc_id"], "The document id")


def _seg(request: Request) -> int:
    return int_param(request.path_params["seg_id"], "The coding id")


def _span(body: dict, n_chars: int | None = None) -> tuple[int, int]:
    start = int_param(body.get("start"), "start")
    end = int_param(body.get("end"), "end")
    if start >= end:
        raise StudioError(400, "Select some text first: the selection is empty.")
    if start < 0 or (n_chars is not None and end > n_chars):
        raise StudioError(400, f"The selection {start}-{end} is outside the text (0-{n_chars}).")
    return start, end


async def segments(request: Request) -> JSONResponse:
    doc_id = _doc(request)
    worker = request.app.state.worker
    segs = await worker.run(lambda p: (p._doc_id(doc_id), data.segments_of(p, doc_id))[1])
    return JSONResponse({"segments": segs, "can_undo": await worker.run(lambda p: p.can_undo(coder=coder_name(request))),
                         "can_redo": await worker.run(lambda p: p.can_redo(coder=coder_name(request)))})


@mutating
async def add_coding(request: Request) -> JSONResponse:
    doc_id = _doc(request)
    body = await json_body(request)
    coder = coder_name(request)
    codes = body.get("codes")
    if isinstance(body.get("code"), str):
        codes = [body["code"]]
    if not isinstance(codes, list) or not codes or not all(isinstance(c, str) for c in codes):
        raise StudioError(400, "Choose at least one code.")
    codes = list(dict.fromkeys(codes))

    def write(p):
        p._doc_id(doc_id)
        n_chars = p._q("SELECT n_chars FROM documents WHERE document_id = ?", (doc_id,))[0][0]
        start, end = _span(body, n_chars)
        data.check_new_coding(p, doc_id, start, end, codes, coder)
        frame = pd.DataFrame({"document": [doc_id] * len(codes), "start": [start] * len(codes),
                              "end": [end] * len(codes), "code": codes})
        # a person chose this text: any turn may be coded (the interviewer rule guards bulk coding only)
        ids = p.code_many(frame, coder=coder, exclude_speakers=[])  # one transaction for all the codes
        return {"ids": [int(i) for i in ids], "segments": data.segments_of(p, doc_id)}

    return JSONResponse(await request.app.state.worker.run(write, coder=coder), status_code=201)


async def segment(request: Request) -> JSONResponse:
    seg_id = _seg(request)
    return JSONResponse(await request.app.state.worker.run(data.segment_detail, seg_id))


def _others(body: dict) -> bool:
    val = body.get("others", False)
    if not isinstance(val, bool):
        raise StudioError(400, "others must be true or false.")
    return val


@mutating
async def remove(request: Request) -> JSONResponse:
    seg_id, body, coder = _seg(request), await json_body(request), coder_name(request)
    others = _others(body)

    def write(p):
        doc = data.segment_detail(p, seg_id)["document_id"]
        p.uncode(seg_id, coder=coder, others=others)
        return {"removed": seg_id, "segments": data.segments_of(p, doc)}

    return JSONResponse(await request.app.state.worker.run(write, coder=coder))


@mutating
async def resize(request: Request) -> JSONResponse:
    seg_id, body, coder = _seg(request), await json_body(request), coder_name(request)
    others = _others(body)

    def write(p):
        doc = data.segment_detail(p, seg_id)["document_id"]
        n_chars = p._q("SELECT n_chars FROM documents WHERE document_id = ?", (doc,))[0][0]
        start, end = _span(body, n_chars)
        p.resize(seg_id, start, end, coder=coder, others=others)
        return {"segment": data.segment_detail(p, seg_id), "segments": data.segments_of(p, doc)}

    return JSONResponse(await request.app.state.worker.run(write, coder=coder))


@mutating
async def recode(request: Request) -> JSONResponse:
    seg_id, body, coder = _seg(request), await json_body(request), coder_name(request)
    others = _others(body)
    code = body.get("code")
    if not isinstance(code, str) or not code:
        raise StudioError(400, "Choose the new code.")

    def write(p):
        doc = data.segment_detail(p, seg_id)["document_id"]
        p.recode(seg_id, code, coder=coder, others=others)
        return {"segment": data.segment_detail(p, seg_id), "segments": data.segments_of(p, doc)}

    return JSONResponse(await request.app.state.worker.run(write, coder=coder))


@mutating
async def memo(request: Request) -> JSONResponse:
    seg_id, body, coder = _seg(request), await json_body(request), coder_name(request)
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise StudioError(400, "Write the memo first: it is empty.")
    if len(text) > 100_000:
        raise StudioError(400, "A memo can be at most 100,000 characters.")

    def write(p):
        p.add_memo(text, on="segment", target=seg_id, author=coder)
        detail = data.segment_detail(p, seg_id)
        return {"segment": detail, "segments": data.segments_of(p, detail["document_id"])}

    return JSONResponse(await request.app.state.worker.run(write, coder=coder), status_code=201)


def _history(kind: str):
    @mutating
    async def step(request: Request) -> JSONResponse:
        coder = coder_name(request)
        body = await json_body(request)
        doc_id = body.get("document")

        def write(p):
            out = p.undo(coder=coder) if kind == "undo" else p.redo(coder=coder)
            if doc_id is not None:
                out["segments"] = data.segments_of(p, int_param(doc_id, "document"))
            out["can_undo"], out["can_redo"] = p.can_undo(coder=coder), p.can_redo(coder=coder)
            return out

        return JSONResponse(await request.app.state.worker.run(write, coder=coder))
    step.__name__ = kind
    return step


ROUTES = [
    Route("/api/documents/{doc_id}/segments", segments, methods=["GET"]),
    Route("/api/documents/{doc_id}/segments", add_coding, methods=["POST"]),
    Route("/api/segments/{seg_id}", segment, methods=["GET"]),
    Route("/api/segments/{seg_id}/remove", remove, methods=["POST"]),
    Route("/api/segments/{seg_id}/resize", resize, methods=["POST"]),
    Route("/api/segments/{seg_id}/recode", recode, methods=["POST"]),
    Route("/api/segments/{seg_id}/memo", memo, methods=["POST"]),
    Route("/api/undo", _history("undo"), methods=["POST"]),
    Route("/api/redo", _history("redo"), methods=["POST"]),
]
