import json
from pathlib import Path

import click

from jobs.score import BATCH_CANDIDATES, PHOTO_SETS, QUERY_SETS, run_score

from .. import db as wsdb
from .common import db_option, user_errors


@click.command()
@click.option("--queries", "query_set", type=click.Choice(list(QUERY_SETS)), default="test", show_default=True,
              help="Which texts to score as queries.")
@click.option("--photos", "photo_set", type=click.Choice(list(PHOTO_SETS)), default="test", show_default=True,
              help="Which photos to score them against.")
@click.option("--model", "model_id", default=None, help="A model id from `ws models` (default: the active one).")
@click.option("--candidates", type=click.IntRange(1), default=BATCH_CANDIDATES, show_default=True,
              help="Above this many photos, the two-tower recalls this many per query for re-ranking.")
@click.option("--force", is_flag=True, help="Score again even when nothing changed since the last run.")
@db_option
@user_errors
def score(query_set, photo_set, model_id, candidates, force, db):
    """Score a query set against a photo set with the active model; write table `scores`.

    A run replaces the previous rows of the same model, query set and photo set atomically.
    """
    con = wsdb.connect(db)
    try:
        r = run_score(con, query_set, photo_set, model_id, force, candidates)
    finally:
        con.close()
    if r.skipped:
        click.echo(f"score: unchanged since the last run of {r.model_id} on {query_set} queries x "
                   f"{photo_set} photos; nothing to do")
    else:
        click.echo(f"score {r.run_id}: {r.n_queries} {query_set} queries x {r.n_photos} {photo_set} photos "
                   f"with {r.model_id}: {r.rows} rows")


@click.command()
@click.argument("text")
@click.option("--top", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option("--region", default=None, help="Where the user is (the children rule may not apply there).")
@click.option("--lang", type=click.Choice(["en", "ru"]), default="en", show_default=True,
              help="Language of the disclaimer.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: query, disclaimer, results.")
@click.option("--html", "html", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write a page with the thumbnails to this file.")
@db_option
@user_errors
def search(text, top, region, lang, as_json, html, db):
    """Find the photos that best fit TEXT, with the active model and the children rule applied."""
    from ..search import Searcher
    con = wsdb.connect_read_only(db)
    try:
        searcher = Searcher(con, region=region, lang=lang)
    finally:
        con.close()
    result = searcher.search(text, top)
    if html:
        from ..report import search_page
        search_page(result, html)
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False))
        return
    if result.disclaimer:
        click.echo(f"{result.disclaimer}\n({result.reason}: {', '.join(result.evidence)})")
        return
    if not result.results:
        click.echo("no photos to show")
    for hit in result.results:
        click.echo(f"{hit.rank:>3}  {hit.score:.3f}  {hit.path}")
