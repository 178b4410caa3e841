class WsError(Exception):
    """A problem the user can fix; its text says what to do next. The CLI prints it without a traceback."""
