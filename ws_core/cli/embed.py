import click

from ..encoders import DEFAULT_IMAGE_ENCODER, DEFAULT_TEXT_ENCODER, IMAGE_VERSIONS, TEXT_VERSIONS
from .common import db_option, user_errors, writing


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
@click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="ray: photos on a Ray cluster, in Parquet parts loaded in one transaction "
                   "(needs `pip install 'with-sense[ray]'`).")
@click.option("--address", default=None, help="With --engine ray: the cluster (e.g. ray://head:10001; "
                                               "default: a local Ray on this machine's cores).")
@db_option
@user_errors
def embed(db, image_enc, text_enc, batch_size, limit, engine, address):
    """Compute image and text vectors that are missing for the chosen encoder versions.

    Already-embedded rows are skipped by content hash: a rerun with nothing new loads no model.
    """
    from jobs.embed import run_embed

    from ..config import artifacts_dir, resolve_db
    if engine == "ray":
        import importlib.util
        if importlib.util.find_spec("ray") is None:
            raise click.UsageError("--engine ray needs Ray: pip install 'with-sense[ray]'")
    if address and engine != "ray":
        raise click.UsageError("--address is for --engine ray")
    with writing(db, "embed") as con:
        result = run_embed(con, image_enc, text_enc, batch_size=batch_size, limit=limit, engine=engine,
                           parts=artifacts_dir(resolve_db(db)) / "ray-parts", address=address,
                           log=lambda m: click.echo(m, err=True))
    click.echo(f"embed {result.run_id}: {result.photos} photos and {result.texts} texts embedded")
    if result.failed:
        click.echo(f"warning: {result.failed} photos could not be decoded and were quarantined; "
                   "see `ws status`", err=True)
