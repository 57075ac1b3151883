"""What the training semantics raise when an option cannot be translated exactly."""


class NotTranslatable(Exception):
    """Carries the diagnostic code and a one-line message; the call is reported and left as it was."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message
