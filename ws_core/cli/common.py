"""Pieces every command shares: the --db option and turning library errors into one clear line."""
import contextlib
import errno
import functools
import os
import sys

import click

from ..config import resolve_db
from ..errors import WsError, WsUsageError

db_option = click.option(
    "--db", "db", type=click.Path(dir_okay=False), default=None,
    help="DuckDB file (default: $WS_DB, else ./ws.duckdb).",
)


def engine_options(what: str):
    """--engine and --address, shared by the commands that can run on Ray (ws_core/distributed.py);
    the command receives `engine` and `address`, checked: Ray installed, --address only with ray."""
    def decorate(fn):
        @functools.wraps(fn)
        def checked(*args, engine, address, **kwargs):
            if engine == "ray":
                import importlib.util
                if importlib.util.find_spec("ray") is None:
                    raise click.UsageError("--engine ray needs Ray: pip install 'with-sense[ray]'")
            if address and engine != "ray":
                raise click.UsageError("--address is for --engine ray")
            return fn(*args, engine=engine, address=address, **kwargs)
        checked = click.option("--address", default=None, help="With --engine ray: the cluster (e.g. "
                               "ray://head:10001; default: a local Ray on this machine's cores).")(checked)
        return click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True,
                            help=f"ray: {what} on a Ray cluster, in Parquet parts loaded in one transaction "
                                 "(needs `pip install 'with-sense[ray]'`).")(checked)
    return decorate


# DuckDB's words for a file whose blocks cannot be read back (checked lazily, so they can surface late)
_DAMAGE = ("Could not read enough bytes", "Corrupt database file", "checksum", "not a valid DuckDB database")


def user_errors(fn):
    """Run a command body, resolving --db, and show a WsError, a damaged database or a file the system
    refuses as one line 'Error: ...' with exit code 1."""
    @functools.wraps(fn)
    def wrapper(*args, db=None, **kwargs):
        if db is None:      # `ws --db FILE status` as well as `ws status --db FILE`
            ctx = click.get_current_context(silent=True)
            db = ctx.find_root().params.get("db") if ctx else None
        path = resolve_db(db)
        try:
            return fn(*args, db=path, **kwargs)
        except WsUsageError as exc:
            raise click.UsageError(str(exc)) from exc
        except WsError as exc:
            raise click.ClickException(str(exc)) from exc
        except BrokenPipeError:
            # the reader went away (`ws status | head`): stop quietly, as a shell tool does
            sys.stdout = open(os.devnull, "w")
            raise SystemExit(141) from None
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise click.ClickException(
                    f"the disk is full ({exc.strerror}) near {exc.filename or path}: free some space and run "
                    "the command again; what was stored before is kept") from exc
            raise click.ClickException(f"cannot use {exc.filename or path}: {exc.strerror or exc}; check "
                                       "that the path exists and is writable") from exc
        except Exception as exc:
            if type(exc).__module__.startswith("duckdb") and any(m in str(exc) for m in _DAMAGE):
                from ..db import damaged_message
                raise click.ClickException(damaged_message(path, exc)) from exc
            raise
    return wrapper


def text_lines(stream) -> list[str]:
    """A --file of texts, one a line, decoded as ingest decodes its files (a UTF-8 mark dropped, UTF-16
    or UTF-32 with its mark read as such; Windows Notepad saves "Unicode" as UTF-16); a byte that is
    not UTF-8 becomes U+FFFD, as a query is never refused for one byte."""
    from ..ingest.readers import as_utf8
    data, refused = as_utf8(stream.read())
    if refused:
        raise WsError(f"{getattr(stream, 'name', '-')}: {refused}")
    text = data.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")
    return text.removesuffix("\n").split("\n") if text else []


@contextlib.contextmanager
def writing(db, label: str):
    """A job's connection to the working database; when the job succeeds, the database is published
    for readers as the latest snapshot (ws_core/snapshot.py). A failed job publishes nothing."""
    from .. import db as wsdb
    from .. import snapshot
    con = wsdb.connect(db)
    try:
        yield con
        snapshot.publish(con, db, label)
    finally:
        con.close()
