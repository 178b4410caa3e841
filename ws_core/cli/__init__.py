"""The `ws` command: thin click commands over the library, one module per command group."""
import click

from . import bench, doctor, embed, ingest, nightly, policy, score, sql, status, train


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="with-sense")
@click.option("--db", "db", type=click.Path(dir_okay=False), default=None,
              help="DuckDB file for the command (default: $WS_DB, else ./ws.duckdb); also after it.")
def main(db):
    """With Sense reference-photo search: batch jobs over a DuckDB file, and ad-hoc queries.

    Every command takes --db (default: $WS_DB, else ./ws.duckdb), before or after its name.
    """


main.add_command(ingest.ingest)
main.add_command(embed.embed)
main.add_command(train.train)
main.add_command(train.models)
main.add_command(score.score)
main.add_command(score.search)
main.add_command(score.pack)
main.add_command(score.rate)
main.add_command(nightly.nightly)
main.add_command(nightly.report)
main.add_command(nightly.files)
main.add_command(policy.policy_group)
main.add_command(status.status)
main.add_command(doctor.doctor)
main.add_command(sql.sql)
main.add_command(bench.bench)
