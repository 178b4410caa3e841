from pathlib import Path

import click

from .common import db_option, user_errors


@click.command()
@click.option("--data", "data_dirs", multiple=True, type=click.Path(path_type=Path),
              help="A data folder to check (repeatable).")
@db_option
@user_errors
def doctor(data_dirs, db):
    """Check the environment: packages, bundled weights, database schema, data folders, disk.

    Prints one line per check (ok / FIX / note) and exits 1 when something needs fixing.
    """
    from ..doctor import FIX, run_checks
    checks = run_checks(db, list(data_dirs))
    width = max(len(c.what) for c in checks)
    for c in checks:
        click.echo(f"{c.status:<4}  {c.what:<{width}}  {c.detail}")
    problems = [c for c in checks if c.status == FIX]
    if problems:
        raise click.ClickException(f"{len(problems)} problem{'s' if len(problems) > 1 else ''} to fix (lines marked FIX)")
    click.echo("everything needed is in place")
