class WsError(Exception):
    """A problem the user can fix; its text says what to do next. The CLI prints it without a traceback."""


class WsUsageError(WsError):
    """A mistake in how a command was called (an empty query): exit code 2, like click's usage errors."""
