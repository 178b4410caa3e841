import json
from contextlib import contextmanager

import click

from .. import db as wsdb
from .. import policy
from ..encoders import DEFAULT_IMAGE_ENCODER, IMAGE_VERSIONS
from ..config import PIXEL_RECALL_TARGET, artifacts_dir
from .common import db_option, engine_options, text_lines, user_errors, writing


@contextmanager
def _reader(db):
    """The database read-only; with none yet, the shipped vocabulary and settings (in memory)."""
    if db.exists():
        con = wsdb.connect_read_only(db)
    else:
        import duckdb
        con = duckdb.connect()
        wsdb.migrate(con)
    try:
        yield con
    finally:
        con.close()


def _writer(db):
    return writing(db, "policy")


def _table(frame, empty: str) -> str:
    return frame.to_string(index=False, max_colwidth=100) if len(frame) else empty


@click.group("policy")
def policy_group():
    """The children rule: check texts, flag photos, manage consents, regions and the vocabulary."""


@policy_group.command("check")
@click.argument("text", required=False)
@click.option("--file", "texts_file", type=click.File("rb"), default=None,
              help="Check every line of this file (one text a line, loaded once); - reads stdin.")
@click.option("--lang", type=click.Choice(["en", "ru"]), default=None,
              help="Language of the disclaimer shown (default: Russian for a text with Cyrillic letters, "
                   "else English).")
@click.option("--region", default=None, help="Region the query comes from (default: 'default').")
@click.option("--json", "as_json", is_flag=True, help="Print the decision as JSON (with --file: one a line).")
@db_option
@user_errors
def check_cmd(text, texts_file, lang, region, as_json, db):
    """Does TEXT ask for photos of children? Prints the decision and the matched evidence."""
    if (text is None) == (texts_file is None):
        raise click.UsageError("give a TEXT or --file FILE (one text a line), not both")
    texts = [text] if text is not None else [ln for ln in text_lines(texts_file) if ln.strip()]
    with _reader(db) as con:
        check = policy.QueryCheck.load(con)
        applies = policy.rule_applies(con, region)
        disclaimers = policy.load_disclaimers(con)
    if check.model is None:
        click.echo("note: no trained query classifier (run `ws policy run`): decided by the vocabulary alone",
                   err=True)
    for t, decision in zip(texts, check.many(texts)):
        shown = disclaimers[policy.query_lang(t, lang)] if decision.is_child and applies else None
        if as_json:
            click.echo(json.dumps({"query": t, "asks_for_children": decision.is_child,
                                   "evidence": decision.evidence, "source": decision.source,
                                   "score": None if decision.score is None else round(decision.score, 4),
                                   "notes": decision.notes, "rule_applies": applies,
                                   "disclaimer": shown}, ensure_ascii=False))
            continue
        if texts_file is not None:
            click.echo(f"# {t}")
        click.echo(f"decision: {'asks for children' if decision.is_child else 'does not ask for children'}"
                   + (f" (decided by the {decision.source})" if decision.source else ""))
        click.echo(f"evidence: {'; '.join(decision.evidence) if decision.evidence else 'none'}")
        if decision.score is not None:
            click.echo(f"classifier score: {decision.score:.3f}")
        for note in decision.notes:
            click.echo(f"note: {note}")
        click.echo(f"rule applies in region {region or 'default'}: {'yes' if applies else 'no'}")
        if shown:
            click.echo(f"disclaimer ({decision.reason}): {shown}")


@policy_group.command("run")
@click.option("--encoder", "image_enc", default=DEFAULT_IMAGE_ENCODER, show_default=True,
              type=click.Choice(list(IMAGE_VERSIONS)), help="Photo vectors for the pixel classifier.")
@click.option("--recall", type=click.FloatRange(0.5, 1.0), default=PIXEL_RECALL_TARGET,
              show_default=True, help="Out-of-fold recall the pixel threshold must reach.")
@click.option("--neighbours/--no-neighbours", default=True, show_default=True,
              help="Let out-of-fold AUC mix the labels of each photo's nearest described photos into the "
                   "pixel classifier (off: the regression alone).")
@click.option("--force", is_flag=True, help="Rebuild the flags even when nothing changed.")
@engine_options("the pixel flags computed")
@db_option
@user_errors
def run_cmd(image_enc, recall, neighbours, force, engine, address, db):
    """Flag queries and photos (descriptions, pixels); rebuilt only when inputs changed."""
    from ..policy.pixels import PixelParams
    params = PixelParams(recall_target=recall, knn_weights=PixelParams.knn_weights if neighbours else (0.0,))
    with _writer(db) as con:
        from jobs.policy import run_policy
        result = run_policy(con, image_enc, params, force,
                            log=lambda m: click.echo(m, err=True), engine=engine,
                            parts=artifacts_dir(db) / "ray-parts", address=address)
    if result.run_id is None:
        click.echo("policy: nothing changed since the last run")
        return
    counts = ", ".join(f"{n} {source}" for source, n in sorted(result.flags.items())) or "none"
    click.echo(f"policy {result.run_id}: flags written: {counts}")
    m = result.metrics
    if "threshold" in m:
        click.echo(f"pixel classifier: threshold {m['threshold']:.3f}, out-of-fold recall "
                   f"{m['cv_recall']:.3f}, precision {m['cv_precision']:.3f}, AUC {m['cv_auc']:.3f}"
                   + (f" (regression {m['cv_auc_regression']:.3f}, neighbours {m['cv_auc_neighbours']:.3f}, "
                      f"their weight {m['knn_weight']:.1f})" if "cv_auc_neighbours" in m else ""))
    if "test_recall" in m:
        click.echo(f"test photos (labels from their queries): recall {m['test_recall']:.3f}, "
                   f"precision {m['test_precision']:.3f} ({m['test_flagged']} flagged, "
                   f"{m['test_child']} with children)")


@policy_group.command("flags")
@click.option("--kind", type=click.Choice(["photo", "query"]), default="photo", show_default=True)
@click.option("--source", type=click.Choice(["classifier", "description", "pixels", "vocabulary"]), default=None,
              help="Only flags from this source.")
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True)
@db_option
@user_errors
def flags_cmd(kind, source, limit, db):
    """List flagged photos (or queries) with the source and evidence of each flag."""
    with _reader(db) as con:
        frame = con.execute(
            "select entity_id, source, round(score, 3) as score, evidence from policy_flags "
            "where entity_kind = ? and (? is null or source = ?) order by entity_id, source limit ?",
            [kind, source, source, limit]).df()
        total = con.execute("select count(distinct entity_id) from policy_flags where entity_kind = ? "
                            "and (? is null or source = ?)", [kind, source, source]).fetchone()[0]
    click.echo(_table(frame, "no flags: run `ws policy run`"))
    noun = "queries" if kind == "query" else "photos"
    click.echo(f"{total} {noun} flagged" + (f" by {source}" if source else ""))


@policy_group.group("consent")
def consent_group():
    """Parents' and guardians' permissions to show a flagged photo."""


@consent_group.command("add")
@click.argument("image")
@click.option("--by", "granted_by", required=True, help="Who granted it (parent or guardian).")
@click.option("--scope", default="all", show_default=True, help="'all' or one region.")
@click.option("--note", default=None)
@db_option
@user_errors
def consent_add(image, granted_by, scope, note, db):
    """Record a consent for photo IMAGE (its file name)."""
    with _writer(db) as con:
        consent_id = policy.add_consent(con, image, granted_by, scope, note)
    click.echo(f"consent {consent_id} recorded for {image} (scope {scope})")


@consent_group.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include revoked consents.")
@db_option
@user_errors
def consent_list(show_all, db):
    """List consents (valid ones unless --all)."""
    with _reader(db) as con:
        frame = con.execute("select consent_id, image, granted_by, granted_at, scope, note, revoked_at "
                            "from consents where ? or revoked_at is null order by granted_at",
                            [show_all]).df()
    click.echo(_table(frame, "no consents"))


@consent_group.command("revoke")
@click.argument("key")
@db_option
@user_errors
def consent_revoke(key, db):
    """Revoke consent KEY (a consent id), or every valid consent of photo KEY."""
    with _writer(db) as con:
        n = policy.revoke_consent(con, key)
    click.echo(f"revoked {n} consent{'s' if n != 1 else ''}")


@policy_group.command("region")
@click.argument("region", required=False)
@click.option("--rule/--no-rule", default=None, help="Whether the children rule applies there.")
@click.option("--note", default=None)
@db_option
@user_errors
def region_cmd(region, rule, note, db):
    """List regions, or set whether the rule applies in REGION (--rule / --no-rule).

    Regions not listed follow 'default', which ships with the rule on.
    """
    if region and rule is not None:
        with _writer(db) as con:
            policy.set_region(con, region, rule, note)
    elif region or rule is not None:
        raise click.UsageError("Give both REGION and --rule or --no-rule, or neither to list.")
    with _reader(db) as con:
        frame = con.execute("select * from jurisdictions order by region").df()
    click.echo(_table(frame, "no regions"))


@policy_group.command("terms")
@click.option("--add", "add", nargs=2, metavar="TERM DECISION", default=None,
              help="Add or change a word or phrase; DECISION is child or not_child.")
@click.option("--remove", "remove", default=None, metavar="TERM", help="Remove a word or phrase.")
@click.option("--lang", type=click.Choice(["en", "ru"]), default="en", show_default=True)
@click.option("--prefix", is_flag=True, help="With --add: match words starting with TERM (stems).")
@click.option("--note", default=None)
@db_option
@user_errors
def terms_cmd(add, remove, lang, prefix, note, db):
    """The vocabulary (table policy_terms): list it, or add / remove a term without a release."""
    if add:
        term, decision = add
        if decision not in ("child", "not_child"):
            raise click.BadParameter("DECISION must be child or not_child", param_hint="--add")
        problem = policy.term_problem(term, lang)
        if problem:
            raise click.BadParameter(problem, param_hint="--add")
        with _writer(db) as con:
            con.execute("insert or replace into policy_terms (term, lang, match, decision, note) "
                        "values (?, ?, ?, ?, ?)",
                        [" ".join(term.split()), lang, "prefix" if prefix else "word", decision, note])
        click.echo(f"{term!r} ({lang}) is now {decision}; run `ws policy run` to refresh the flags")
        return
    if remove:
        with _writer(db) as con:
            gone = con.execute("delete from policy_terms where term = ? and lang = ? returning term",
                               [remove, lang]).fetchall()
        if not gone:
            raise click.ClickException(f"No term {remove!r} ({lang}) in the vocabulary.")
        click.echo(f"removed {remove!r} ({lang}); run `ws policy run` to refresh the flags")
        return
    with _reader(db) as con:
        frame = con.execute("select term, lang, match, decision, coalesce(note, '') as note "
                            "from policy_terms order by lang, decision, term").df()
    click.echo(_table(frame, "the vocabulary is empty"))


@policy_group.command("disclaimer")
@click.option("--lang", type=click.Choice(["en", "ru"]), default="en", show_default=True)
@click.option("--set", "new_text", default=None, help="Replace the text for this language.")
@click.option("--photo", is_flag=True, help="The text `ws rate` shows when the photo, not the query, is held "
                                            "back (it may show a child).")
@db_option
@user_errors
def disclaimer_cmd(lang, new_text, photo, db):
    """Show (or --set) the text users get instead of photos when a query asks for children (--photo:
    instead of a score when the photo may show a child)."""
    if new_text is not None:
        if not new_text.strip():
            raise click.BadParameter("the disclaimer cannot be empty", param_hint="--set")
        with _writer(db) as con:
            policy.set_disclaimer(con, lang, new_text.strip(), photo)
    with _reader(db) as con:
        click.echo(policy.disclaimer(con, lang, photo))
