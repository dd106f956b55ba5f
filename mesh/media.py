"""Client of the Media Service, for both directions: upload (worker) and guarded download
(image service).

Contract (the existing service): ``POST {base}/api/v1/file/uploads`` with a multipart ``file``
part answers ``{"file_url": "..."}``; the URL is then fetchable with GET.

The client is aiohttp's: under load the worker uploads three images a message, and httpx's
AsyncClient spent about four times aiohttp's CPU per request (docs/operations.md, CPU per
message).

Uploads carry an ``Idempotency-Key`` (the SHA-256 of the bytes) and are retried on connection
errors, timeouts and 5xx, so a retry after a lost response does not store a second file on a
service that honours the key (the dev stand-in stores files by content, so it never duplicates).

Downloads are the SSRF guard of the system: only http(s) URLs on the configured Media Service
origin (scheme, host and port exactly; no user info) are fetched, redirects are not followed,
and the body is cut off at ``max_bytes``.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

import aiohttp
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from mesh.errors import FailedPrecondition, InvalidArgument, NotFound, ServiceError, Unavailable
from mesh.retry import Backoff, retry_after_headers

UPLOAD_PATH = "/api/v1/file/uploads"
# The longest image URL any service takes: the Media Service's own URLs are far shorter, and
# every URL is stored, logged and sent on to other services.
MAX_URL_CHARS = 2048


class MediaUnavailable(Unavailable):
    """The Media Service could not be reached or answered 5xx after the retries."""

    default_reason = "MEDIA_UNAVAILABLE"


class MediaRefused(FailedPrecondition):
    """The Media Service answered an upload with 4xx: retrying the same file cannot help."""

    default_reason = "MEDIA_REFUSED"


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


class HTTPStatusError(Exception):
    """The Media Service answered with a status that is not a success; ``retry_after``: the
    wait it asked for (``Retry-After`` / ``retry-after-ms``), if any."""

    def __init__(self, status: int, retry_after: float | None = None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after

    @property
    def transient(self) -> bool:
        """5xx, 408 Request Timeout and 429 Too Many Requests: the same request may pass later."""
        return self.status >= 500 or self.status in _BUSY


# Refused or broken connections, timeouts, bodies cut short: a later attempt may pass.
_TRANSIENT = (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, TimeoutError)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_BUSY = frozenset({408, 429})


def _retryable(exc: BaseException) -> bool:
    """Worth one of the client's quick tries: a transient failure whose server did not ask
    for a longer wait than the quick tries make (that wait is the pipeline's, in its budget)."""
    if isinstance(exc, _TRANSIENT):
        return True
    return isinstance(exc, HTTPStatusError) and exc.transient and not (exc.retry_after or 0) > 5.0


def _status_error(response: aiohttp.ClientResponse) -> HTTPStatusError:
    return HTTPStatusError(response.status, retry_after_headers(response.headers))


def check_media_url(
    url: str, base_url: str, public_url: str | None = None, *, field: str = "image_url"
) -> str:
    """Return ``url`` if it is an http(s) URL on the Media Service's origin (``base_url``, or
    ``public_url`` when the service hands out URLs under another name), else INVALID_ARGUMENT.
    It must be at most ``MAX_URL_CHARS`` long and printable ASCII without spaces (CR, LF and
    other controls would split headers and log lines; other characters are percent-encoded
    in a real URL)."""
    if len(url) > MAX_URL_CHARS:
        raise InvalidArgument(field, f"must be at most {MAX_URL_CHARS} characters")
    if not all("!" <= c <= "~" for c in url):
        raise InvalidArgument(
            field, "must be printable ASCII without spaces or control characters (percent-encode)"
        )
    try:
        parts = urlsplit(url)
        _origin(url)
    except ValueError as exc:  # a port out of range, a malformed IPv6 host
        raise InvalidArgument(field, "is not a valid URL") from exc
    if parts.scheme not in ("http", "https"):
        raise InvalidArgument(field, "must be an http(s) URL of the Media Service")
    if parts.username is not None or parts.password is not None:
        raise InvalidArgument(field, "must not contain user information")
    allowed = [_origin(base_url)] + ([_origin(public_url)] if public_url else [])
    if _origin(url) not in allowed:
        raise InvalidArgument(
            field,
            f"must be on the Media Service ({(public_url or base_url).rstrip('/')}); "
            "other hosts are not fetched",
            reason="URL_NOT_ALLOWED",
        )
    return url


UPLOAD_RETRY = Backoff(attempts=3, first=0.2, cap=5.0)


class MediaClient:
    """Uploads images and fetches input images from one Media Service."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        retry: Backoff = UPLOAD_RETRY,
        public_url: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        # The name browsers see (e.g. http://localhost:8090) when it differs from the one this
        # process reaches (e.g. http://media:8090 inside compose); its URLs are fetched via base.
        self.public_url = public_url.rstrip("/") if public_url else None
        self._retry = retry
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        """The connection pool, made on first use: inside the event loop that uses it."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def aclose(self) -> None:
        """Close the connection pool."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> MediaClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def check_url(self, url: str, *, field: str = "image_url") -> str:
        """Return ``url`` if it points at this Media Service, else raise INVALID_ARGUMENT."""
        return check_media_url(url, self.base_url, self.public_url, field=field)

    async def upload(self, data: bytes, *, filename: str, mime_type: str) -> str:
        """Store ``data`` and return its URL; retried safely on transient failures."""
        key = hashlib.sha256(data).hexdigest()

        async def once() -> str:
            form = aiohttp.FormData()
            form.add_field("file", data, filename=filename, content_type=mime_type)
            async with self._http().post(
                self.base_url + UPLOAD_PATH,
                data=form,
                headers={"Idempotency-Key": key},
                allow_redirects=False,
            ) as response:
                if response.status >= 300:
                    raise _status_error(response)
                answer = await response.json(content_type=None)
            url = answer.get("file_url") if isinstance(answer, dict) else None
            if not isinstance(url, str) or not url:
                raise MediaUnavailable("the Media Service answered without a file_url")
            return url

        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self._retry.attempts),
                wait=lambda state: self._retry.delay(state.attempt_number, hint=_asked(state)),
                retry=retry_if_exception(_retryable),
                reraise=True,
            ):
                with attempt:
                    return await once()
        except ServiceError:
            raise
        except HTTPStatusError as exc:
            if not exc.transient:
                raise MediaRefused(
                    f"the Media Service refused the upload ({_describe(exc)})"
                ) from exc
            raise MediaUnavailable(
                f"upload to the Media Service failed: {_describe(exc)}",
                retry_after=exc.retry_after,
            ) from exc
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise MediaUnavailable(f"upload to the Media Service failed: {_describe(exc)}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def download(self, url: str, *, max_bytes: int, field: str = "image_url") -> bytes:
        """Fetch a Media Service file; the URL must pass ``check_url``; capped at ``max_bytes``."""
        self.check_url(url, field=field)
        if self.public_url and _origin(url) == _origin(self.public_url):
            url = self.base_url + url[len(self.public_url) :]
        try:
            async with self._http().get(url, allow_redirects=False) as response:
                if response.status == 404:
                    raise NotFound(f"{field}: the Media Service has no such file")
                if response.status in _REDIRECTS:
                    raise InvalidArgument(
                        field, "redirects are not followed", reason="URL_NOT_ALLOWED"
                    )
                if response.status >= 300:
                    raise _status_error(response)
                declared = response.content_length or 0
                if declared > max_bytes:
                    raise _too_large(field, max_bytes)
                chunks, size = [], 0
                async for chunk in response.content.iter_any():
                    size += len(chunk)
                    if size > max_bytes:
                        raise _too_large(field, max_bytes)
                    chunks.append(chunk)
                return b"".join(chunks)
        except ServiceError:
            raise
        except HTTPStatusError as exc:
            if not exc.transient:
                raise InvalidArgument(
                    field, f"the Media Service refused it ({exc.status})"
                ) from exc
            raise MediaUnavailable(
                f"download failed: {_describe(exc)}", retry_after=exc.retry_after
            ) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise MediaUnavailable(f"download failed: {_describe(exc)}") from exc


def _asked(state: RetryCallState) -> float | None:
    """The wait the Media Service asked for with its last answer, if it asked."""
    exc = state.outcome.exception() if state.outcome is not None else None
    return exc.retry_after if isinstance(exc, HTTPStatusError) else None


def _too_large(field: str, max_bytes: int) -> FailedPrecondition:
    return FailedPrecondition(
        f"{field}: the image is larger than {max_bytes} bytes", reason="IMAGE_TOO_LARGE"
    )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, HTTPStatusError):
        return f"HTTP {exc.status}"
    return type(exc).__name__
