import click

from ..encoders import DEFAULT_IMAGE_ENCODER, DEFAULT_TEXT_ENCODER, IMAGE_VERSIONS, TEXT_VERSIONS
from .common import db_option, engine_options, user_errors, writing


@click.command()
@click.option("--encoder", "image_enc", default=DEFAULT_IMAGE_ENCODER, show_default=True,
              type=click.Choice(list(IMAGE_VERSIONS) + [n + "-eager" for n in IMAGE_VERSIONS
                                                        if n.startswith("effnet")]),
              help="Image encoder (-eager: the PyTorch reference path, slower, same vectors).")
@click.option("--text-encoder", "text_enc", default=DEFAULT_TEXT_ENCODER, show_default=True,
              type=click.Choice(list(TEXT_VERSIONS)), help="Text encoder.")
@click.option("--batch-size", default=32, show_default=True, type=click.IntRange(1, 1024),
              help="Photos per batch (texts: twice as many); each batch is committed on its own.")
@click.option("--limit", type=click.IntRange(0), default=None,
              help="Embed at most this many photos and this many texts (default: all missing).")
@engine_options("photos embedded")
@db_option
@user_errors
def embed(db, image_enc, text_enc, batch_size, limit, engine, address):
    """Compute image and text vectors that are missing for the chosen encoder versions.

    Already-embedded rows are skipped by content hash: a rerun with nothing new loads no model.
    """
    from jobs.embed import run_embed

    from ..config import artifacts_dir, resolve_db
    with writing(db, "embed") as con:
        result = run_embed(con, image_enc, text_enc, batch_size=batch_size, limit=limit, engine=engine,
                           parts=artifacts_dir(resolve_db(db)) / "ray-parts", address=address,
                           log=lambda m: click.echo(m, err=True))
    click.echo(f"embed {result.run_id}: {result.photos} photos and {result.texts} texts embedded")
    if result.failed:
        click.echo(f"warning: {result.failed} photos could not be decoded and were quarantined; "
                   "see `ws status`", err=True)
