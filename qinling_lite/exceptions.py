"""Exceptions of qinling-lite, each carrying the HTTP status it maps to."""


class QinlingLiteError(Exception):
    """Base error; ``code`` is the HTTP status the API answers with, plus ``headers``."""

    code = 500
    message = "An unknown error occurred."
    headers = None

    def __init__(self, message=None):
        self.message = message or self.message
        super().__init__(self.message)

    @property
    def faultstring(self):
        return self.message


class InputError(QinlingLiteError):
    code = 400
    message = "Invalid input."


class NotAuthorized(QinlingLiteError):
    code = 401
    message = "Authentication required."


class NotAllowed(QinlingLiteError):
    code = 403
    message = "Operation not allowed."


class NotFound(QinlingLiteError):
    code = 404
    message = "Resource not found."

    def __init__(self, resource=None, **ids):
        if resource is None:
            super().__init__()
        else:
            keys = ", ".join(f"{k}={v}" for k, v in ids.items())
            super().__init__(f"{resource} not found [{keys}]")


class MethodNotAllowed(QinlingLiteError):
    code = 405
    message = "Method not allowed."


class Conflict(QinlingLiteError):
    code = 409
    message = "Conflict."


class RuntimeNotAvailable(Conflict):
    def __init__(self, runtime_id):
        super().__init__(f"Runtime {runtime_id} is not available.")


class PayloadTooLarge(QinlingLiteError):
    code = 413
    message = "Request body too large."

    def __init__(self, limit):
        super().__init__(f"Request body larger than the limit of {limit} bytes.")


class PackageTooLarge(QinlingLiteError):
    """A function package that would extract to more than the limit."""

    code = 413
    message = "Package too large."


class UnsupportedMediaType(QinlingLiteError):
    code = 415
    message = "Unsupported media type."


class TooManyRequests(QinlingLiteError):
    code = 429
    message = "Too many requests."

    def __init__(self, message=None, retry_after=None):
        super().__init__(message)
        self.headers = {"Retry-After": str(retry_after)} if retry_after else {}


class IdentityUnavailable(QinlingLiteError):
    """Keystone could not be reached or failed."""

    code = 503
    message = "The identity service is unavailable."


class StorageError(QinlingLiteError):
    message = "Package storage failed."


class OrchestratorError(QinlingLiteError):
    message = "The orchestrator failed."


class NoWorkerAvailable(OrchestratorError):
    message = "No worker became available in time."


class WorkerError(OrchestratorError):
    """A worker did not answer, answered garbage, or died."""

    message = "The worker failed."


class EngineUnavailable(QinlingLiteError):
    code = 503
    message = "The engine is unavailable."


class Busy(QinlingLiteError):
    """The service cannot take the request now; ``retry_after`` seconds is a fair wait."""

    code = 503
    message = "The service is busy."

    def __init__(self, message=None, retry_after=None):
        super().__init__(message)
        self.headers = {"Retry-After": str(retry_after)} if retry_after else {}


class InvocationFailed(QinlingLiteError):
    """A synchronous webhook invocation whose execution has no output to answer with;
    ``execution_id`` names the execution, which is recorded all the same."""

    code = 502
    message = "The function failed."

    def __init__(self, message, execution_id, retry_after=None):
        super().__init__(message)
        self.execution_id = execution_id
        self.headers = {"Retry-After": str(retry_after)} if retry_after else {}


class FunctionFailed(InvocationFailed):
    code = 502


class FunctionTimedOut(InvocationFailed):
    code = 504


class ExecutionUnfinished(InvocationFailed):
    """The execution could not run (an engine-side error) or did not finish in time."""

    code = 503
