"""Pieces every command shares: the --db option and turning library errors into one clear line."""
import functools

import click

from ..config import resolve_db
from ..errors import WsError

db_option = click.option(
    "--db", "db", type=click.Path(dir_okay=False), default=None,
    help="DuckDB file (default: $WS_DB, else ./ws.duckdb).",
)


def user_errors(fn):
    """Run a command body, resolving --db, and show a WsError as 'Error: ...' with exit code 1."""
    @functools.wraps(fn)
    def wrapper(*args, db=None, **kwargs):
        try:
            return fn(*args, db=resolve_db(db), **kwargs)
        except WsError as exc:
            raise click.ClickException(str(exc)) from exc
    return wrapper
