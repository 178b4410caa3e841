import click

from .. import db as wsdb
from .common import db_option, user_errors


@click.command()
@db_option
@user_errors
def status(db):
    """Row counts per table, the last job runs and what was quarantined."""
    from .. import snapshot
    con, source = wsdb.open_reader(db)
    try:
        click.echo(f"database {db} (schema version {wsdb.schema_version(con)})")
        click.echo(f"read from {snapshot.describe(db, source)}\n")
        counts = wsdb.table_counts(con)
        width = max(map(len, counts))
        click.echo("\n".join(f"  {t:<{width}}  {n:>9}" for t, n in counts.items()))
        files = con.execute("select status, count(*) from photos group by status order by status").fetchall()
        away = [f"{n} {s}" for s, n in files if s != "ok"]
        if away:
            click.echo(f"\nphoto files not on disk as ingested: {', '.join(away)} (kept out of search; "
                       "see `select image, status, path from photos where status <> 'ok'`)")
        runs = con.execute(
            "select run_id, job, status, started_at, round(epoch(finished_at - started_at), 1) "
            "as seconds, rows_in, rows_out, message from job_runs order by started_at desc limit 10"
        ).df().fillna({"message": ""})
        click.echo("\nlast job runs:\n" + (runs.to_string(index=False) if len(runs) else "  none"))
        bad = con.execute(
            "select source, reason, n_rows from rpt_data_quality where n_rows > 0 "
            "order by source, n_rows desc").df()
        click.echo("\nquarantined in the latest read of each source:\n"
                   + (bad.to_string(index=False, max_colwidth=90) if len(bad) else "  nothing"))
    finally:
        con.close()
