import json
from pathlib import Path

import click


from .. import db as wsdb
from ..config import BATCH_CANDIDATES, PHOTO_SETS, QUERY_SETS, WEAK_BELOW, artifacts_dir
from .common import db_option, engine_options, text_lines, user_errors, writing


@click.command()
@click.option("--queries", "query_set", type=click.Choice(list(QUERY_SETS)), default="test", show_default=True,
              help="Which texts to score as queries.")
@click.option("--photos", "photo_set", type=click.Choice(list(PHOTO_SETS)), default="test", show_default=True,
              help="Which photos to score them against.")
@click.option("--model", "model_id", default=None, help="A model id from `ws models` (default: the active one).")
@click.option("--candidates", type=click.IntRange(1), default=BATCH_CANDIDATES, show_default=True,
              help="Above this many photos, the two-tower recalls this many per query for re-ranking.")
@click.option("--force", is_flag=True, help="Score again even when nothing changed since the last run.")
@engine_options("queries scored")
@db_option
@user_errors
def score(query_set, photo_set, model_id, candidates, force, engine, address, db):
    """Score a query set against a photo set with the active model; write table `scores`.

    A run replaces the previous rows of the same model, query set and photo set atomically. Above
    --candidates photos, test queries are scored through the model's search pack when a current one
    exists (`ws pack`; the nightly builds it first): the photos are read from it, never loaded whole.
    """
    from jobs.score import run_score
    with writing(db, "score") as con:
        r = run_score(con, query_set, photo_set, model_id, force, candidates, engine=engine,
                      parts=artifacts_dir(db) / "ray-parts", address=address, log=lambda m: click.echo(m, err=True))
    if r.skipped:
        click.echo(f"score: unchanged since the last run of {r.model_id} on {query_set} queries x "
                   f"{photo_set} photos; nothing to do")
    else:
        click.echo(f"score {r.run_id}: {r.n_queries} {query_set} queries x {r.n_photos} {photo_set} photos "
                   f"with {r.model_id}: {r.rows} rows" + (" (through the search pack)" if r.through_pack else ""))


@click.command()
@click.argument("text", required=False)
@click.option("--file", "queries_file", type=click.File("rb"), default=None,
              help="Answer every line of this file as a query (one model load for all); - reads stdin.")
@click.option("--top", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option("--min-score", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help=f"Hide results scored below this (results under {WEAK_BELOW} are marked weak anyway).")
@click.option("--region", default=None, help="Where the user is (the children rule may not apply there).")
@click.option("--lang", type=click.Choice(["en", "ru"]), default=None,
              help="Language of the disclaimer (default: Russian for a query with Cyrillic letters, else English).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (with --file: one JSON object a line).")
@click.option("--html", "html", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write a page with the thumbnails to this file (one query only).")
@click.option("--no-pack", is_flag=True, help="Load the model instead of the nightly's search pack "
                                               "(the same answers, slower; for comparison).")
@db_option
@user_errors
def search(text, queries_file, top, min_score, region, lang, as_json, html, no_pack, db):
    """Find the photos that best fit TEXT, with the active model and the children rule applied.

    Scores are calibrated to the judges' scale: a result under 0.5 is marked weak, and when every
    result is weak the answer says that no photo matches this well.
    """
    from .. import policy
    from ..search import prepare_query
    if (text is None) == (queries_file is None):
        raise click.UsageError("give a query TEXT or --file FILE (one query a line), not both")
    if queries_file is not None and html:
        raise click.UsageError("--html writes one query's page: use it without --file")
    lines = [text] if text is not None else text_lines(queries_file)
    queries = [ln for ln in lines if ln.strip()] if queries_file is not None else lines
    prepared = [prepare_query(q) for q in queries]      # an empty query is refused before anything loads
    if len(queries) < len(lines):
        click.echo(f"note: {len(lines) - len(queries)} blank lines skipped", err=True)
    con = wsdb.connect_read_only(db)
    try:
        _note_unknown_region(con, region)
        # a query answered from words alone (a child query) needs no model: answer before loading one
        applies = policy.rule_applies(con, region)
        check = policy.QueryCheck.load(con)
        decisions = check.many([query for query, _ in prepared])
        searcher = None
        if not applies or not all(d.is_child for d in decisions):
            from ..search import Searcher
            searcher = Searcher(con, region=region, lang=lang, use_pack=not no_pack, check=check)
        disclaimers = policy.load_disclaimers(con)
    finally:
        con.close()
    from ..search import SearchResult
    for q, (query, notes), decision in zip(queries, prepared, decisions):
        result = (searcher.search(q, top, min_score) if searcher is not None else
                  SearchResult(q, disclaimers[policy.query_lang(query, lang)], decision.reason,
                               decision.evidence, notes=notes + decision.notes))
        _show(result, as_json, html, several=queries_file is not None)


@click.command("pack")
@db_option
@user_errors
def pack(db):
    """Prepare the search pack of the active model: what `ws search` memory-maps instead of loading
    the model and every photo's vectors (the nightly and `ws train` prepare it too)."""
    from ..searchpack import prepare
    con = wsdb.connect_read_only(db)
    try:
        click.echo(f"search pack: {prepare(con, log=lambda m: click.echo(m, err=True))}")
    finally:
        con.close()


def _note_unknown_region(con, region: str | None) -> None:
    from .. import policy
    if region is not None and not policy.region_listed(con, region):
        rule = "on" if policy.rule_applies(con, region) else "off"
        click.echo(f"note: region {region!r} is not in jurisdictions; the default rule applies "
                   f"(children rule {rule})", err=True)


def _show(result, as_json: bool, html, several: bool) -> None:
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    if html:
        from ..report import search_page
        search_page(result, html)
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False))
        return
    if several:
        click.echo(f"# {result.query}")
    if result.disclaimer:
        click.echo(f"{result.disclaimer}\n({result.reason}: {', '.join(result.evidence)})")
        return
    if not result.results:
        click.echo("no photos to show")
    elif result.all_weak:
        click.echo(f"no photo matches this well (every score is under {WEAK_BELOW}); the closest:")
    for hit in result.results:
        click.echo(f"{hit.rank:>3}  {hit.score:.3f}  {hit.path}" + ("  (weak)" if hit.weak else ""))


@click.command()
@click.argument("photo")
@click.argument("texts", nargs=-1, required=True)
@click.option("--region", default=None, help="Where the user is (the children rule may not apply there).")
@click.option("--lang", type=click.Choice(["en", "ru"]), default=None,
              help="Language of the disclaimer (default: Russian for a query with Cyrillic letters, else English).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object a text.")
@db_option
@user_errors
def rate(photo, texts, region, lang, as_json, db):
    """How well does each TEXT fit PHOTO, from 0 to 1 (calibrated; under 0.5 is weak).

    PHOTO is a catalogue photo name or a photo file (embedded on the fly, not stored). A text that
    asks for children, or a photo the children rule hides, gets the disclaimer instead of a score.
    """
    from ..rate import rate as rate_texts
    from ..search import prepare_query
    for t in texts:
        prepare_query(t)                            # an empty text is a usage mistake: before any load
    con = wsdb.connect_read_only(db)
    try:
        _note_unknown_region(con, region)
        ratings = rate_texts(con, photo, list(texts), region, lang)
    finally:
        con.close()
    for r in ratings:
        for note in r.notes:
            click.echo(f"note: {note}", err=True)
        if as_json:
            click.echo(json.dumps(r.to_json(photo), ensure_ascii=False))
        elif r.score is None:
            click.echo(f"  -    {r.text}\n       {r.disclaimer} ({r.reason})")
        else:
            click.echo(f"{r.score:.3f}  {r.text}" + ("  (weak)" if r.weak else ""))
