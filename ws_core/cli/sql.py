import click

from .. import db as wsdb
from .common import db_option, user_errors


@click.command()
@click.argument("query")
@click.option("--param", "-p", "params", multiple=True, metavar="NAME=VALUE",
              help="Bound parameter, used in the query as :NAME. Repeatable.")
@click.option("--csv", "fmt", flag_value="csv", help="Print CSV.")
@click.option("--json", "fmt", flag_value="json", help="Print JSON records.")
@db_option
@user_errors
def sql(db, query, params, fmt):
    """Run one read-only SQL query (analysts' connection) and print the result.

    Example: ws sql "select * from rpt_data_quality where source like :s" -p s=%expert%
    """
    import pandas as pd
    import sqlalchemy as sa
    bound = {}
    for p in params:
        name, sep, value = p.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{p!r} is not NAME=VALUE", param_hint="--param")
        bound[name] = value
    engine = wsdb.analyst_engine(db)
    try:
        with engine.connect() as conn:
            result = conn.execute(sa.text(query), bound)
            if not result.returns_rows:
                raise click.ClickException("the statement returned no rows (only queries are allowed)")
            frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    except sa.exc.DBAPIError as exc:
        msg = str(exc.orig).strip().splitlines()[0]      # DuckDB adds the query and a caret below
        if "Could not set lock" in msg:
            raise click.ClickException(wsdb.locked_message(db)) from None
        refused = wsdb.refusal(msg)
        if refused:
            raise click.ClickException(refused) from None
        raise click.ClickException(f"query failed: {msg}") from None
    finally:
        engine.dispose()
    if fmt == "csv":
        click.echo(frame.to_csv(index=False), nl=False)
    elif fmt == "json":
        click.echo(frame.to_json(orient="records", date_format="iso", force_ascii=False))
    else:
        click.echo(frame.to_string(index=False) if len(frame) else "(no rows)")
