"""A remote failure in words: what happened and what to do, whichever backend raised it.

Told apart by the exception's class names and status, not by importing botocore or aiohttp, so
that this module costs nothing when no remote path is given.
"""

from __future__ import annotations

class RemoteError(Exception):
    """A remote source could not be read (no credentials, 403, connection refused, timeout...).

    ``cause`` says what happened in words, ``fix`` what to do; both become the finding's. Not an
    OSError on purpose: the readers' ``except OSError`` means a damaged file, and this is not one.
    """

    def __init__(self, url: str, cause: str, fix: str) -> None:
        super().__init__(f"{url}: {cause}")
        self.url, self.cause, self.fix = url, cause, fix[:1].upper() + fix[1:]

    def __reduce__(self):  # crosses process boundaries (--jobs, dask) intact
        return (type(self), (self.url, self.cause, self.fix))


CREDENTIALS = {
    "s3": "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (see `aws configure`); "
          "kcompat takes credentials only from the backend's standard chain",
    "gs": "run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS",
    "az": "set AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT_NAME with a key or `az login`",
    "http": "the URL needs credentials kcompat cannot send; use a pre-signed URL",
}


def family(url: str) -> str:
    head = url.split(":", 1)[0].lower()
    return {"gcs": "gs", "abfs": "az", "abfss": "az", "https": "http"}.get(head, head)


def chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    while exc is not None and exc not in seen and len(seen) < 10:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def names(exc: BaseException) -> set[str]:
    return {cls.__name__ for e in chain(exc) for cls in type(e).__mro__}


def status(exc: BaseException) -> int | None:
    for e in chain(exc):
        for attr in ("status", "status_code", "code"):
            value = getattr(e, attr, None)
            if isinstance(value, int) and 100 <= value < 600:
                return value
        response = getattr(e, "response", None)
        if isinstance(response, dict):
            code = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if isinstance(code, int):
                return code
    return None


def translate(url: str, exc: BaseException) -> RemoteError:
    if isinstance(exc, RemoteError):
        return exc
    kind, code, text = names(exc), status(exc), f"{type(exc).__name__}: {exc}"[:300]
    creds = CREDENTIALS.get(family(url), CREDENTIALS["http"])
    if kind & {"NoCredentialsError", "PartialCredentialsError", "DefaultCredentialsError", "CredentialRetrievalError",
               "ClientAuthenticationError"}:
        return RemoteError(url, f"no credentials found for {family(url)}:// ({text})", creds)
    if code in (401, 403) or "PermissionError" in kind or "AccessDenied" in str(exc):
        return RemoteError(url, f"access denied ({code or 403}): the credentials in use may not read this object ({text})",
                           f"grant read access to this object (for S3: s3:GetObject and s3:ListBucket; "
                           f"`aws sts get-caller-identity` shows whose credentials are used), or {creds}")
    if kind & {"TimeoutError", "ConnectTimeoutError", "ReadTimeoutError", "ServerTimeoutError", "FSTimeoutError",
               "ReadTimeout", "ConnectTimeout", "timeout"}:
        return RemoteError(url, f"the server did not answer in time ({text})",
                           "retry later, or check that the endpoint is the right one and reachable from here")
    if kind & {"ConnectionRefusedError", "EndpointConnectionError", "ClientConnectorError", "ClientConnectionError",
               "ConnectionError", "ClientOSError", "gaierror"}:
        return RemoteError(url, f"cannot connect to the server ({text})",
                           "check the URL and the endpoint (for S3: AWS_ENDPOINT_URL), the network and any proxy")
    if code is not None:
        return RemoteError(url, f"the server answered {code} ({text})", "check the URL; retry if the server was busy")
    return RemoteError(url, f"reading it failed ({text})", "check the URL and that the object is readable with the backend's own tools")
