"""API errors, shaped like Kubernetes `Status` objects so every client prints its familiar message."""

from __future__ import annotations


class ApiError(Exception):
    code = 500
    reason = "InternalError"
    # The apiserver's generic answers (a path it does not serve) carry `"details":{}`.
    details_always = False

    def __init__(self, message: str, details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def status(self) -> dict:
        """The `Status` in the apiserver's field order (`metav1.Status`: …, message, reason, details, code), the
        details without the fields Go's `omitempty` drops (an empty group), so the bytes match the real ones."""
        body = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        }
        details = {k: v for k, v in self.details.items() if v not in ("", None, [])}
        if details or self.details_always:
            body["details"] = details
        body["code"] = self.code
        return body


def _resource(kind_plural: str, group: str) -> str:
    return f"{kind_plural}.{group}" if group else kind_plural


class NotFound(ApiError):
    code, reason = 404, "NotFound"
    details_always = True

    @classmethod
    def of(cls, plural: str, group: str, name: str):
        return cls(f'{_resource(plural, group)} "{name}" not found', {"name": name, "group": group, "kind": plural})


class AlreadyExists(ApiError):
    code, reason = 409, "AlreadyExists"

    @classmethod
    def of(cls, plural: str, group: str, name: str):
        return cls(
            f'{_resource(plural, group)} "{name}" already exists', {"name": name, "group": group, "kind": plural}
        )


class Conflict(ApiError):
    code, reason = 409, "Conflict"

    @classmethod
    def of(cls, plural: str, group: str, name: str):
        return cls(
            f'Operation cannot be fulfilled on {_resource(plural, group)} "{name}": the object has been modified; '
            "please apply your changes to the latest version and try again",
            {"name": name, "group": group, "kind": plural},
        )


class Invalid(ApiError):
    """422 with causes; kubectl rebuilds `The Kind "name" is invalid: field: message` from details."""

    code, reason = 422, "Invalid"

    def __init__(self, kind: str, group: str, name: str, causes: list[dict]):
        qualified = f"{kind}.{group}" if group else kind
        text = "; ".join(f"{c['field']}: {c['message']}" for c in causes)
        if len(causes) > 1:
            text = "[" + ", ".join(f"{c['field']}: {c['message']}" for c in causes) + "]"
        super().__init__(
            f'{qualified} "{name}" is invalid: {text}',
            {"name": name, "group": group, "kind": kind, "causes": causes},
        )
        self.causes = causes


class BadRequest(ApiError):
    code, reason = 400, "BadRequest"


class Unauthorized(ApiError):
    code, reason = 401, "Unauthorized"


class Forbidden(ApiError):
    code, reason = 403, "Forbidden"


class MethodNotAllowed(ApiError):
    code, reason = 405, "MethodNotAllowed"


class Timeout(ApiError):
    code, reason = 504, "Timeout"


class Gone(ApiError):
    code, reason = 410, "Expired"


class UnsupportedMediaType(ApiError):
    code, reason = 415, "UnsupportedMediaType"


class TooManyRequests(ApiError):
    code, reason = 429, "TooManyRequests"


def cause(field: str, message: str, reason: str = "FieldValueInvalid") -> dict:
    return {"reason": reason, "message": message, "field": field}


class Paced(Exception):
    """A reconcile loop's write held back: the playground is paused with no single step left, or at the classroom
    tempo the previous write's hop is still being shown. Not an error: the loop looks again when the gate opens
    (the ticker nudges it, or the next single step runs it). `writes` counts what was committed before stopping."""

    def __init__(self, writes: int = 0):
        super().__init__(f"paced after {writes} writes")
        self.writes = writes
