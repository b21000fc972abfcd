"""The one exception root of plan-xl; the CLI turns it into a message and an exit code."""


class PlanXlError(Exception):
    """A problem the user can act on. The message is Japanese and says what to do."""

    exit_code = 1


class UsageError(PlanXlError, ValueError):
    """Wrong options or arguments (exit code 2)."""

    exit_code = 2


class RegisterError(PlanXlError):
    """The master register cannot be read, is invalid, or cannot be written."""


class RegisterBusyError(RegisterError):
    """Another run holds the register lock, or Excel has the file open."""


class MailError(PlanXlError):
    """Mail settings, texts or the SMTP server are not usable."""
