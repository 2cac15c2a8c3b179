"""The small family of exceptions simkit raises.

Every error a user can cause derives from :class:`SimkitError`. The CLI prints
``str(error)`` as one line (file, key or frame, then what was expected) and
exits with :attr:`SimkitError.exit_code`; ``--traceback`` shows the rest.
"""

from __future__ import annotations


class SimkitError(Exception):
    """Base class: an error a person can act on."""

    exit_code = 1


class ConfigError(SimkitError):
    """A configuration file or value is invalid (names the file and key)."""

    exit_code = 2


class InputDataError(SimkitError):
    """Input data (structures, datasets, trajectories) is unusable (names the file and frame)."""

    exit_code = 2


class DirectoryInUse(SimkitError):
    """Another live process writes into this directory (names the directory and that process)."""

    exit_code = 2


class BackendSetupError(SimkitError):
    """A required external code, style or library is missing or misconfigured."""

    exit_code = 3


class LammpsError(SimkitError):
    """LAMMPS refused a command or failed during a run; carries LAMMPS's own message."""

    exit_code = 4

    fatal = False  # True when LAMMPS aborted on one rank only (the run cannot continue)

    def __init__(self, message: str, command: str | None = None):
        # LAMMPS appends the offending input line; the command is shown separately.
        self.lammps_message = message.split("\nLast input line:")[0].strip().removeprefix("ERROR: ")
        self.command = command
        text = self.lammps_message
        if command:
            text = f"LAMMPS failed on `{command.strip()}`: {text}"
        super().__init__(text)


class RunFailed(SimkitError):
    """A simulation or fit ran but ended in a failure state (unstable MD, failed fit)."""

    exit_code = 5


class ParseError(SimkitError):
    """A file written by an external code could not be parsed (names the file and line)."""

    exit_code = 6


class StopRequested(Exception):
    """Not an error: a run reached the stop its user asked for (e.g. ``--stop-after-steps``) and
    wrote a checkpoint there; ``--resume`` continues it. The message says where it stopped."""
