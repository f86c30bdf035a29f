"""Where downloads may go: redirects are followed only within the configured arXiv hosts.

A PDF or HTML request answered by a redirect to some other host would otherwise be followed anywhere,
a request-forgery path into the user's network (``http://192.168.1.1/admin``, cloud metadata at
``169.254.169.254``). The ``httpx`` response hook below sees every redirect *before* it is followed
(and before its body is read) and refuses a target outside the allowed origins.
"""

from __future__ import annotations

from typing import Callable, Iterable

import httpx

_DEFAULT_PORTS = {"http": 80, "https": 443}
ARXIV_DOMAIN = "arxiv.org"


class RedirectRefused(httpx.HTTPError):
    """A redirect to a host outside the configured arXiv hosts; ``target`` is where it pointed."""

    def __init__(self, target: str) -> None:
        super().__init__(f"refused a redirect to {target}")
        self.target = target


def _origin(url: httpx.URL) -> tuple[str, int]:
    return url.host.lower(), url.port or _DEFAULT_PORTS.get(url.scheme, 0)


def allowed_origins(urls: Iterable[str | None]) -> frozenset[tuple[str, int]]:
    """(host, port) of each configured URL."""
    return frozenset(_origin(httpx.URL(u)) for u in urls if u)


def is_allowed(url: httpx.URL, origins: frozenset[tuple[str, int]]) -> bool:
    if url.scheme not in ("http", "https"):
        return False
    host, port = _origin(url)
    if (host, port) in origins:
        return True
    # the real arXiv moves files between its own hosts (arxiv.org, export.arxiv.org, www.arxiv.org):
    # allowed over https when arXiv itself is configured
    arxiv_configured = any(h == ARXIV_DOMAIN or h.endswith("." + ARXIV_DOMAIN) for h, _ in origins)
    return (arxiv_configured and url.scheme == "https" and port == 443
            and (host == ARXIV_DOMAIN or host.endswith("." + ARXIV_DOMAIN)))


def redirect_guard(origins: frozenset[tuple[str, int]]) -> Callable[[httpx.Response], None]:
    """A response hook raising ``RedirectRefused`` for a redirect leaving ``origins``."""

    def check(response: httpx.Response) -> None:
        if not response.has_redirect_location:
            return
        target = response.request.url.join(response.headers["location"])
        if not is_allowed(target, origins):
            response.close()
            shown = f"{target.scheme}://{target.host}" + (f":{target.port}" if target.port else "")
            raise RedirectRefused(shown)

    return check
