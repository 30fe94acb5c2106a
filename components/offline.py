"""Keep the browser's traffic on the app's own address: custom components may not pull styles or fonts from elsewhere.

The code editor's front end (streamlit-code-editor, served by the app under ``/component/``) puts an
``@import`` of a web font stylesheet in its editor themes, so opening the code editor made the browser ask a
font host on the internet. ``OfflineComponents`` gives every document and file served under ``/component/``
a Content-Security-Policy that allows styles and fonts only from the app itself (inline styles still work):
the browser refuses the import without sending it, and the editor falls back to a local monospace font.
Scripts, images and connections are left as they are.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

POLICY = b"style-src 'self' 'unsafe-inline'; font-src 'self' data:"


class OfflineComponents:
    """ASGI middleware adding ``POLICY`` to responses whose path has a ``/component/`` segment."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or "/component/" not in scope.get("path", ""):
            await self.app(scope, receive, send)
            return

        async def send_with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"content-security-policy"]
                message = {**message, "headers": [*headers, (b"content-security-policy", POLICY)]}
            await send(message)

        await self.app(scope, receive, send_with_policy)
