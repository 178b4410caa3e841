from pathlib import Path

import click

from .. import db as wsdb
from .common import db_option, user_errors, writing


@click.command()
@click.option("--data", "data_dirs", multiple=True, type=click.Path(path_type=Path),
              help="Data folder in the With Sense layout (train_dataset.csv, ExpertAnnotations.tsv, "
                   "CrowdAnnotations.tsv, test_queries.csv, test_images.csv, train_images/, "
                   "test_images/, photo_descriptions.tsv; any subset). Repeatable.")
@click.option("--descriptions", multiple=True, type=click.Path(path_type=Path),
              help="A photo_descriptions.tsv file (image, description_id, description). Repeatable.")
@db_option
@user_errors
def ingest(db, data_dirs, descriptions):
    """Load annotations, texts and photos into the database; bad rows go to quarantine.

    Rerunning on the same data changes nothing; changed files update only what changed.
    """
    if not data_dirs and not descriptions:
        raise click.UsageError("give at least one --data folder or --descriptions file")
    from jobs.ingest import run_ingest
    with writing(db, "ingest") as con:
        result = run_ingest(con, list(data_dirs), list(descriptions))
        counts = wsdb.table_counts(con)
    click.echo(f"ingest {result.run_id}: read {result.rows_in} rows and files, "
               f"wrote {result.rows_out} new or changed rows")
    click.echo("now stored: " + ", ".join(
        f"{counts[t]} {t}" for t in ("photos", "texts", "expert_annotations", "crowd_annotations")))
    for w in result.warnings:
        click.echo(f"warning: {w}", err=True)
    if result.rejects:
        by_source = ", ".join(f"{s}: {n}" for s, n in sorted(result.rejects_by_source().items()))
        click.echo(f"warning: {len(result.rejects)} rows quarantined ({by_source}); "
                   f"see `ws status` or the view rpt_data_quality", err=True)
