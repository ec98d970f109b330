"""Command-line programs: ``absl.app.run`` with one-line errors.

``run(main)`` parses the flags and runs ``main``. A user error (a bad flag or config field, a
missing or malformed data file, a refused resume, a locked workdir, a diverged run) ends the
program with one line ``error: <message>`` on stderr and exit status 2, the message being the
library's own ``<where>: <arg> must be <expected>, got <actual>``. Ctrl-C (SIGINT) ends it with
one line (``interrupted at step N; resume with the same command`` once training started) and
exit status 130; the harness leaves the workdir consistent and unlocked. ``--traceback`` shows the
whole traceback instead. Compiled programs are kept in the persistent compilation cache
(``rnnjax.compilation``; ``RNNJAX_COMPILATION_CACHE`` moves it or turns it off), so the second
launch of a config loads its steps instead of compiling them.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable
from typing import NoReturn

from absl import app, flags

from rnnjax.compilation import use_persistent_cache
from rnnjax.memory import keep_freed_memory
from rnnjax.validation import one_line

# Exceptions that report a problem with the user's input rather than a bug.
USER_ERRORS = (ValueError, TypeError, OSError, FloatingPointError, RuntimeError, KeyError,
               flags.Error)
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a program that Ctrl-C stopped

_TRACEBACK = flags.DEFINE_boolean(
    "traceback", False, "On an error, show the whole Python traceback instead of one line.")


def _exit(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr, flush=True)
    sys.exit(EXIT_USER_ERROR)


def _unknown_config_field(argv: list[str], err: BaseException) -> str | None:
    """'--config.optim.lr: the config has no field optim.lr' for an override of a missing field."""
    chain, missing = err, None
    while chain is not None and missing is None:
        if isinstance(chain, KeyError | AttributeError):
            missing = one_line(chain).strip("'\"")
        chain = chain.__cause__ or chain.__context__
    if missing is None:
        return None
    for arg in argv[1:]:
        match = re.match(r"--(\w+)\.([\w.]+)=", arg)
        if match and match.group(2).split(".")[-1] == missing:
            return (f"flag --{match.group(1)}.{match.group(2)}: the {match.group(1)} has no field "
                    f"{match.group(2)!r}; see the config file for the fields it has")
    return None


def parse_flags(argv: list[str]) -> list[str]:
    """absl's flag parsing, with one-line errors (a traceback with --traceback)."""
    try:
        return flags.FLAGS(argv)
    except Exception as err:
        if "--traceback" in argv:
            raise
        _exit(_unknown_config_field(argv, err) or one_line(err))


def run(main: Callable[[list[str]], None], argv: list[str] | None = None) -> None:
    """``app.run(main)`` with one-line errors for ``USER_ERRORS`` and for bad flags, in a process
    whose malloc keeps freed memory (``rnnjax.memory.keep_freed_memory``) and whose compiled
    programs go to the persistent cache (``rnnjax.compilation.use_persistent_cache``); ``argv``:
    the command line, by default ``sys.argv``."""

    def guarded(argv: list[str]) -> None:
        if len(argv) > 1:
            _exit(f"unexpected arguments {argv[1:]} (every option is a --flag=value)")
        try:
            main(argv)
        except USER_ERRORS as err:
            if _TRACEBACK.value:
                raise
            _exit(one_line(err))
        except KeyboardInterrupt as err:
            if _TRACEBACK.value:
                raise
            print(one_line(err) if str(err) else "interrupted; rerun the same command to "
                  "continue", file=sys.stderr, flush=True)
            sys.exit(EXIT_INTERRUPTED)

    # JAX logs at INFO that it found no TPU: noise in front of every message.
    logging.getLogger("jax._src.xla_bridge").setLevel(logging.WARNING)
    keep_freed_memory()  # a program, not a library: XLA's step temporaries are reused
    use_persistent_cache()
    app.run(guarded, argv=argv, flags_parser=parse_flags)
