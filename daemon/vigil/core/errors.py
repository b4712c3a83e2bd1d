"""The one error hierarchy. Every error the daemon reports to a person derives from VigilError.

`STATUS_BY_ERROR` maps each kind to the HTTP status the API will answer with; the CLI prints the
message and exits non-zero. Messages are written for the person reading them: what, where, why.
"""

from __future__ import annotations


class VigilError(Exception):
    """Base class: a failure with a message fit for an operator. `retry_after_s`: when the caller
    may try again, for failures that pass (sent as Retry-After by the API); None for the rest."""

    retry_after_s: int | None = None
    # (field, message) pairs the API sends as the problem's `errors` member (a form names each field).
    errors: tuple[tuple[str, str], ...] = ()
    # the problem's `type`: a slug for the errors a client tells apart without reading the text
    problem_type: str = "about:blank"


class ConfigError(VigilError):
    """The configuration file is missing, unreadable or invalid. `problems`: each (key path, message)
    of an invalid file (`cameras[3].url`, "must be an rtsp:// URL"), for callers that edit the file."""

    def __init__(self, message: str, problems: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


class StorageError(VigilError):
    """The recording storage cannot be used (missing disk, foreign disk, not writable)."""


class DiskFullError(StorageError):
    """The disk under the index is full (SQLite's SQLITE_FULL): changes wait until space is freed."""


class Mp4FormatError(VigilError):
    """A file is not a fragmented MP4 of the shape our segment writer produces (truncated or
    malformed boxes, a missing header, more than one track)."""


class IndexStateError(VigilError):
    """The SQLite index is inconsistent or from an unknown schema."""


class NotFoundError(VigilError):
    """A named thing (camera, segment) does not exist."""


class BadRequestError(VigilError):
    """Input from a client or the command line is malformed."""


class AuthenticationError(VigilError):
    """No valid credentials (missing, wrong, expired or revoked)."""


class PermissionDeniedError(VigilError):
    """Valid credentials that do not grant this action on this target."""


class ConflictError(VigilError):
    """The request conflicts with existing state (a name already taken)."""


class NotReadyError(ConflictError):
    """What the request needs exists but is not finished yet (footage still being written); the
    answer says when to ask again (`retry_after_s`, sent as Retry-After)."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s: int = retry_after_s


class ValidationError(BadRequestError):
    """Well-formed input whose values are wrong (HTTP 422), each named in `errors`: (field, message)."""

    def __init__(self, message: str, errors: tuple[tuple[str, str], ...]) -> None:
        super().__init__(message)
        self.errors = errors


class ConfigNotWritableError(ConflictError):
    """The configuration file cannot be changed by the daemon (read-only, or its directory is)."""


class DuplicateIdError(ConflictError):
    """An id already taken (a camera or building); `errors` names the field."""

    def __init__(self, message: str, field: str = "id") -> None:
        super().__init__(message)
        self.errors = ((field, message),)


class PayloadTooLargeError(BadRequestError):
    """A request body over the limit."""


class TooManyRequestsError(VigilError):
    """Throttled (too many failed logins, too many live viewers)."""


class UnsupportedMediaTypeError(BadRequestError):
    """A body in a content type this endpoint does not take."""


class RangeNotSatisfiableError(VigilError):
    """A byte range outside the body (HTTP 416); carries the body's size for Content-Range."""

    def __init__(self, message: str, total_bytes: int) -> None:
        super().__init__(message)
        self.total_bytes = total_bytes


class UnavailableError(VigilError):
    """Something the request needs is not there right now (a camera not connected yet)."""


class IndexBusyError(UnavailableError):
    """Another process holds the index's write lock longer than this caller may wait (HTTP 503
    with Retry-After); carries how many seconds to wait before trying again."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s: int = retry_after_s


# --- camera setup (issue 15): each failure has its own problem `type` slug, so that the web app
# and scripts tell a wrong ONVIF password from a wrong RTSP one without reading the text.


class CameraSetupError(VigilError):
    """A probe or scan failed because of the device or what was typed; `problem_type` is the slug."""

    problem_type = "camera-setup"


class SetupInputError(CameraSetupError):
    """Rooted in the installer's input (a wrong password): HTTP 422."""


class DeviceAnswerError(CameraSetupError):
    """Rooted in the device (no answer, a wrong answer): HTTP 502."""


class AddressNotAllowedError(CameraSetupError):
    """An address outside `[camera_setup] probe_networks` (the SSRF policy): HTTP 403; nothing was sent."""

    problem_type = "address-not-allowed"


class OnvifUnauthorizedError(SetupInputError):
    problem_type = "onvif-unauthorized"


class RtspUnauthorizedError(SetupInputError):
    problem_type = "rtsp-unauthorized"


class UnreachableError(DeviceAnswerError):
    problem_type = "unreachable"


class NotOnvifError(DeviceAnswerError):
    problem_type = "not-onvif"


class SoapFaultError(DeviceAnswerError):
    problem_type = "soap-fault"


class MalformedXmlError(DeviceAnswerError):
    problem_type = "malformed-xml"


class NotVideoError(DeviceAnswerError):
    problem_type = "not-video"


# --- the intercom (issue 18, design/intercom.md): talking through a device's loudspeaker.


class TalkError(VigilError):
    problem_type = "talk"


class TalkUnsupportedError(TalkError):
    """The device cannot take our audio: no backchannel in its SDP (or 551), no codec we can send,
    talk not configured for the camera (HTTP 409)."""

    problem_type = "talk-unsupported"


class TalkBusyError(TalkError):
    """Someone else holds the device's talk floor (half duplex); the message names who (HTTP 409)."""

    problem_type = "talk-busy"


class TalkDeviceError(TalkError):
    """The device did not answer, refused our credentials or dropped the audio session (HTTP 502)."""

    problem_type = "talk-device"


STATUS_BY_ERROR: dict[type[VigilError], int] = {
    BadRequestError: 400,
    ConfigError: 400,
    AuthenticationError: 401,
    PermissionDeniedError: 403,
    NotFoundError: 404,
    ConflictError: 409,
    ValidationError: 422,
    ConfigNotWritableError: 409,
    DuplicateIdError: 409,
    NotReadyError: 409,
    PayloadTooLargeError: 413,
    UnsupportedMediaTypeError: 415,
    TooManyRequestsError: 429,
    RangeNotSatisfiableError: 416,
    UnavailableError: 503,
    IndexBusyError: 503,
    StorageError: 503,
    IndexStateError: 500,
    VigilError: 500,
    CameraSetupError: 502,
    SetupInputError: 422,
    DeviceAnswerError: 502,
    AddressNotAllowedError: 403,
    TalkError: 500,
    TalkUnsupportedError: 409,
    TalkBusyError: 409,
    TalkDeviceError: 502,
}


def http_status(error: VigilError) -> int:
    """The HTTP status for an error: the entry of its most specific class in STATUS_BY_ERROR."""
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500
