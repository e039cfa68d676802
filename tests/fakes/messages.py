"""The fake's request and response values, with JSON and multipart/form-data parsing."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesHeaderParser
from typing import Any

from .errors import ApiError

_HEADER_PARSER = BytesHeaderParser(policy=policy.HTTP)


@dataclass(frozen=True)
class UploadedFile:
    filename: str
    content_type: str
    data: bytes


@dataclass
class Form:
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, list[UploadedFile]] = field(default_factory=dict)

    def text(self, name: str, default: str | None = None) -> str | None:
        return self.fields.get(name, default)

    def uploads(self, name: str, *, required: bool = True) -> list[UploadedFile]:
        """The files sent under `name`; 422 when required and missing, or when any is empty."""
        uploads = self.files.get(name, [])
        if required and not uploads:
            raise ApiError(422, "missing_file", f"Field {name!r} requires an uploaded file.")
        for upload in uploads:
            if not upload.data:
                raise ApiError(422, "empty_file", f"The uploaded file {upload.filename!r} in {name!r} is empty.")
        return uploads


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased
    body: bytes

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def int_param(self, name: str, default: int) -> int:
        value = self.param(name)
        if value is None:
            return default
        try:
            return int(value)
        except ValueError:
            raise ApiError(422, "invalid_parameter", f"Query parameter {name!r} must be an integer.") from None

    def json(self) -> dict[str, Any]:
        try:
            payload = json.loads(self.body or b"{}")
        except ValueError:
            raise ApiError(422, "invalid_json", "The request body is not valid JSON.") from None
        if not isinstance(payload, dict):
            raise ApiError(422, "invalid_json", "The request body must be a JSON object.")
        return payload

    def form(self) -> Form:
        return parse_multipart(self.headers.get("content-type", ""), self.body)


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    chunked: bool = False  # sent with Transfer-Encoding: chunked, like the real /stream endpoints

    @classmethod
    def json(cls, payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        body = json.dumps(payload, separators=(",", ":")).encode()
        return cls(status=status, body=body, headers=headers or {})

    @classmethod
    def audio(cls, data: bytes, content_type: str, *, chunked: bool = False) -> Response:
        return cls(body=data, content_type=content_type, chunked=chunked)


def parse_multipart(content_type: str, body: bytes) -> Form:
    """Split a multipart/form-data body on its boundary (fast on large uploads)."""
    boundary = _boundary(content_type)
    form = Form()
    # Each part is preceded by CRLF--boundary; the first one sits at the very start of the body.
    pieces = (b"\r\n" + body).split(b"\r\n--" + boundary)
    for piece in pieces[1:]:
        if piece.startswith(b"--"):
            break  # the closing delimiter
        head, separator, data = piece.partition(b"\r\n\r\n")
        if not separator:
            raise ApiError(422, "invalid_multipart", "A multipart part has no header/body separator.")
        _add_part(form, head.lstrip(b"\r\n"), data)
    return form


def _boundary(content_type: str) -> bytes:
    message = _HEADER_PARSER.parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode())
    boundary = message.get_param("boundary")
    if message.get_content_type() != "multipart/form-data" or not boundary:
        raise ApiError(422, "invalid_content_type", "This endpoint expects multipart/form-data.")
    return str(boundary).encode()


def _add_part(form: Form, head: bytes, data: bytes) -> None:
    headers = _HEADER_PARSER.parsebytes(head + b"\r\n\r\n")
    name = headers.get_param("name", header="content-disposition")
    if not name:
        raise ApiError(422, "invalid_multipart", "A multipart part has no name.")
    filename = headers.get_filename()
    if filename is None:
        form.fields[str(name)] = data.decode("utf-8", "replace")
        return
    upload = UploadedFile(filename, headers.get_content_type(), data)
    form.files.setdefault(str(name), []).append(upload)
