"""Ctrl-C while the ``parcelrisk`` command is still starting: one line and exit 130.

Importing the libraries takes seconds; a SIGINT meanwhile used to end in a
KeyboardInterrupt traceback. Imported first by ``parcelrisk/__init__.py``; acts only
when the process is the ``parcelrisk`` console command (a library user's own
Ctrl-C handling is left alone). :func:`parcelrisk.cli.user_errors` installs the
command's own handler once the command runs.
"""

from __future__ import annotations

import os
import signal
import sys


def _interrupted(signum: int, frame: object) -> None:
    os.write(2, b"interrupted: stopped while starting; nothing was read or written\n")
    os._exit(130)


def _is_console_command() -> bool:
    return bool(sys.argv) and os.path.basename(sys.argv[0]) == "parcelrisk"


if _is_console_command() and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
    signal.signal(signal.SIGINT, _interrupted)
