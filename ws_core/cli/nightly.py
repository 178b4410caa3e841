from pathlib import Path

import click

from jobs.nightly import run_nightly

from .. import db as wsdb
from ..config import artifacts_dir
from .common import db_option, engine_options, user_errors, writing


@click.command()
@click.option("--data", "data_dirs", multiple=True, type=click.Path(path_type=Path),
              help="Data folder to ingest first (With Sense layout). Repeatable; none: ingest is skipped.")
@click.option("--descriptions", multiple=True, type=click.Path(path_type=Path),
              help="A photo_descriptions.tsv file to ingest. Repeatable.")
@click.option("--folds", type=click.IntRange(2, 20), default=5, show_default=True,
              help="Cross-validation folds when a model is retrained.")
@click.option("--wait", type=click.FloatRange(0), default=0, show_default=True,
              help="Seconds to wait for another running chain, or a reader holding the database, before giving up.")
@click.option("--report-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the HTML report goes (default: <db>.artifacts/report).")
@engine_options("the embed, policy and score stages")
@db_option
@user_errors
def nightly(data_dirs, descriptions, folds, wait, report_dir, engine, address, db):
    """The whole chain: ingest -> embed -> train -> policy -> score -> report.

    Each stage is a job_runs row and skips what has not changed, so a rerun with no new data does no
    model work. Exit code 1 names the stage that failed. Schedule it with cron or a systemd timer
    (see the README).
    """
    result = run_nightly(db, list(data_dirs), list(descriptions), folds, wait, report_dir,
                         log=lambda m: click.echo(m, err=True), engine=engine, address=address)
    click.echo(f"nightly: {len(result.stages)} stages done; report: {result.report}")


@click.command()
@db_option
@user_errors
def files(db):
    """Check that every stored photo's file is still on disk and unchanged (the nightly's second stage).

    A missing or changed file keeps its photo out of search, scores and the report until it returns.
    """
    from jobs.files import run_files
    with writing(db, "files") as con:
        result = run_files(con)
    click.echo(f"files: {result.summary()}")


@click.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for index.html (default: <db>.artifacts/report).")
@db_option
@user_errors
def report(out_dir, db):
    """Write the static HTML report: data, target, models, calibration, examples, policy, conclusions."""
    from ..report import build_report
    out_dir = out_dir or artifacts_dir(db) / "report"
    con = wsdb.connect_read_only(db)
    try:
        page = build_report(con, out_dir)
    except OSError as exc:
        raise click.ClickException(f"cannot write the report to {out_dir} ({exc.strerror}); pass --out "
                                   "with a writable folder") from None
    finally:
        con.close()
    click.echo(f"report written to {page}")
