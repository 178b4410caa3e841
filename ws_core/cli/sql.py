import json

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

    Example: ws sql "select source, rows_loaded from rpt_data_quality where source ilike :s" -p s=%expert%
    """
    import pandas as pd
    import sqlalchemy as sa
    bound = {}
    for p in params:
        name, sep, value = p.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{p!r} is not NAME=VALUE", param_hint="--param")
        bound[name] = value
    statement = sa.text(query)
    missing = sorted(set(statement.compile().params) - set(bound))
    if missing:
        raise click.UsageError(f"the query uses :{', :'.join(missing)}; give each with -p NAME=VALUE")
    engine = wsdb.analyst_engine(db)
    try:
        with engine.connect() as conn:
            result = conn.execute(statement, bound)
            if not result.returns_rows:
                raise click.ClickException("the statement returned no rows (only queries are allowed)")
            columns, rows = list(result.keys()), [tuple(r) for r in result.fetchall()]
    except sa.exc.DBAPIError as exc:
        msg = str(exc.orig).strip().splitlines()[0]      # DuckDB adds the query and a caret below
        if "Could not set lock" in msg:
            raise click.ClickException(wsdb.locked_message(db)) from None
        refused = wsdb.refusal(msg)
        if refused:
            raise click.ClickException(refused) from None
        if msg.startswith(("Parser Error", "Syntax Error")):
            raise click.UsageError(f"query failed: {msg}") from None      # a mistake in the query: exit 2
        raise click.ClickException(f"query failed: {msg}") from None
    finally:
        engine.dispose()
    # one rendering of NULL: empty in CSV, null in JSON, NULL in the table; values keep their types
    if fmt == "csv":
        import csv
        import io
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([["" if v is None else v for v in r] for r in rows])
        click.echo(buf.getvalue(), nl=False)
    elif fmt == "json":
        click.echo(json.dumps([dict(zip(columns, r)) for r in rows], default=_plain, ensure_ascii=False))
    elif rows:
        frame = pd.DataFrame(rows, columns=columns, dtype=object)
        click.echo(frame.where(frame.notna(), "NULL").to_string(index=False))
    else:
        click.echo("(no rows)")


def _plain(value):
    """JSON for what DuckDB returns beyond JSON's types: decimals as numbers, times as ISO text."""
    import decimal
    if isinstance(value, decimal.Decimal):
        return float(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
