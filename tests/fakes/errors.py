"""ElevenLabs-shaped errors: `{"detail": {"status": "<code>", "message": "<text>"}}`."""

from __future__ import annotations

# status code -> (detail.status, detail.message) as the real API words them
_DEFAULTS = {
    400: ("invalid_request", "The request is invalid."),
    401: ("invalid_api_key", "Invalid API key"),
    402: ("quota_exceeded", "This request exceeds your quota of credits. You have 0 credits remaining."),
    403: ("forbidden", "You do not have access to this resource."),
    404: ("not_found", "The requested resource was not found."),
    408: ("request_timeout", "The request timed out."),
    409: ("conflict", "The request conflicts with the current state."),
    422: ("validation_error", "The request failed validation."),
    429: ("too_many_concurrent_requests", "Too many concurrent requests for your subscription. Try again shortly."),
    500: ("internal_server_error", "An internal server error occurred."),
    502: ("bad_gateway", "Bad gateway."),
    503: ("service_unavailable", "The service is temporarily unavailable. Try again shortly."),
    504: ("gateway_timeout", "The upstream service timed out."),
}


class ApiError(Exception):
    """Raised by route handlers; the server turns it into an ElevenLabs-shaped response."""

    def __init__(self, status: int, code: str | None = None, message: str | None = None):
        default_code, default_message = default_detail(status)
        self.status = status
        self.code = code or default_code
        self.message = message or default_message
        super().__init__(f"{status} {self.code}: {self.message}")

    def body(self) -> dict:
        return {"detail": {"status": self.code, "message": self.message}}


def default_detail(status: int) -> tuple[str, str]:
    if status in _DEFAULTS:
        return _DEFAULTS[status]
    return ("server_error", "An error occurred.") if status >= 500 else ("request_error", "The request failed.")
