"""Files of case conversations at the edge: how many one entry holds, what one request may
carry, and a file served as a download through its own case only (pages and API alike)."""

from __future__ import annotations

from urllib.parse import quote

from litestar.response import Response

from engine.kernel.errors import NotFound
from engine.wiring import Casework

MAX_FILES = 5  # files on one entry
# What one upload request may carry at the HTTP layer; each file is held to the operator's
# CASEWORK_ATTACHMENT_MAX_BYTES by the engine, which says which file and why.
UPLOAD_CEILING = 64 * 1024 * 1024


def file_response(casework: Casework, case_id: int, attachment_id: int) -> Response[bytes]:
    """A file of the case's conversation, as a download (never shown inline, so a file that
    claims to be a page cannot run in casework's origin); 404 for a file of another case."""
    if not 0 < attachment_id < 2**63:  # no row holds it, and SQLite cannot even take it
        raise NotFound(f"case {case_id} has no file {attachment_id}")
    owner, found, path = casework.conversation.file(attachment_id)
    if owner != case_id:  # a file of another case asked for through this one
        raise NotFound(f"case {case_id} has no file {attachment_id}")
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        raise NotFound(f"the bytes of file {attachment_id} ('{found.file_name}') are missing "
                       f"from the attachments folder ({path.parent})") from None
    return Response(content, media_type=found.media_type, headers={
        "Content-Disposition": _disposition(found.file_name),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox",
        "Cache-Control": "private, no-store"})


def _disposition(name: str) -> str:
    """`attachment` with the file's name, ASCII for old clients and UTF-8 (RFC 6266) for
    names such as 发票.pdf."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_"
                       for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"
