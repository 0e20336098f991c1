"""The web pages: plain HTML, CSS and JavaScript files shipped in the package (no build step,
no CDN: they work offline).

    /                  the chat widget, full page
    /widget.js         the widget for a team's own site: <script src="https://HOST/widget.js" defer>
    /inbox/login       the agents' login
    /inbox             the agent inbox
    /static/NAME       the pages' CSS and scripts

Every page is sent with a Content-Security-Policy that allows only this server's own scripts
and styles (no inline script), and may not be framed; ``widget.js`` may be loaded by any site.
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from launchml.errors import NotFoundError

STATIC = resources.files("launchml.assistant.web") / "static"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def _file(name: str, embeddable: bool = False) -> Response:
    resource = STATIC / name
    suffix = "." + name.rsplit(".", 1)[-1]
    if "/" in name or suffix not in TYPES or not resource.is_file():
        raise NotFoundError(f"no such file: /static/{name}")
    headers = {
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    if suffix == ".html":
        headers["Content-Security-Policy"] = PAGE_POLICY
        headers["X-Frame-Options"] = "DENY"
    if embeddable:
        headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return Response(resource.read_bytes(), media_type=TYPES[suffix], headers=headers)


def router() -> APIRouter:
    routes = APIRouter(include_in_schema=False)

    @routes.get("/")
    async def widget_page() -> Response:
        return _file("chat.html")

    @routes.get("/widget.js")
    async def widget_script() -> Response:
        return _file("widget.js", embeddable=True)

    @routes.get("/static/{name}")
    async def static(name: str) -> Response:
        return _file(name, embeddable=name.startswith("widget"))

    @routes.get("/favicon.ico")
    async def favicon() -> RedirectResponse:
        return RedirectResponse("/static/favicon.svg", status_code=308)

    @routes.get("/inbox")
    async def inbox_page() -> Response:
        return _file("inbox.html")

    @routes.get("/inbox/")
    async def inbox_slash() -> RedirectResponse:
        return RedirectResponse("/inbox", status_code=308)

    @routes.get("/inbox/login")
    async def login_page() -> Response:
        return _file("login.html")

    return routes


__all__ = ["router"]
