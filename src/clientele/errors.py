"""The errors a client causes or must hear about, each with the status it is answered with (SPEC §3);
clientele.web.errors renders them."""

FieldErrors = dict[str, list[str]]


class ApiError(Exception):
    """An error the client caused or must hear about, rendered as SPEC §3's JSON body."""

    status_code = 400

    def __init__(self, message: str, *, errors: FieldErrors | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors
        self.headers = headers


class BadRequest(ApiError):
    status_code = 400


class Unauthenticated(ApiError):
    status_code = 401

    def __init__(self) -> None:
        super().__init__("Unauthenticated.", headers={"WWW-Authenticate": "Bearer"})


class Forbidden(ApiError):
    status_code = 403


class NotFound(ApiError):
    status_code = 404


class Conflict(ApiError):
    status_code = 409


class PreconditionFailed(ApiError):
    status_code = 412


class PayloadTooLarge(ApiError):
    status_code = 413


class Unprocessable(ApiError):
    """A body field is invalid; the message is the first field's first sentence."""

    status_code = 422

    def __init__(self, errors: FieldErrors):
        super().__init__(summarise(errors), errors=errors)


class ServiceUnavailable(ApiError):
    status_code = 503


def summarise(errors: FieldErrors) -> str:
    """Laravel's summary line: the first sentence, and how many more follow."""
    sentences = [sentence for field_errors in errors.values() for sentence in field_errors]
    if not sentences:
        return "The given data was invalid."
    more = len(sentences) - 1
    if more == 0:
        return sentences[0]
    return f"{sentences[0]} (and {more} more error{'s' if more > 1 else ''})"
