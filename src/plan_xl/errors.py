"""The one exception root of plan-xl; the CLI turns it into a message and an exit code."""

from .messages import Text


class PlanXlError(Exception):
    """A problem the user can act on. The message, from the catalogue (plan_xl.messages), is
    Japanese and says what to do; `code` is its catalogue code."""

    exit_code = 1

    def __init__(self, message: Text):
        if not isinstance(message, Text):
            raise TypeError(f"a PlanXlError's message comes from plan_xl.messages, not {message!r}")
        super().__init__(message)
        self.code = message.code


class UsageError(PlanXlError, ValueError):
    """Wrong options or arguments (exit code 2)."""

    exit_code = 2


class RegisterError(PlanXlError):
    """The master register cannot be read, is invalid, or cannot be written."""


class RegisterBusyError(RegisterError):
    """Another run holds the register lock, or Excel has the file open."""


class MailError(PlanXlError):
    """Mail settings, texts or the SMTP server are not usable."""
