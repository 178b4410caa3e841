import click


from .. import db as wsdb
from ..config import CRITERION, MODELS, TAU_C_FLOOR, artifacts_dir
from ..encoders import DEFAULT_IMAGE_ENCODER, DEFAULT_TEXT_ENCODER, IMAGE_VERSIONS, TEXT_VERSIONS
from .common import db_option, user_errors, writing

LEADERBOARD = ("select name, is_active, cv_rmse, cv_tau_c, cv_tau_b, cv_r_at_1, cv_r_at_5, cv_r_at_10, "
               "cv_mrr, test_r_at_1, test_r_at_5, test_r_at_10, test_mrr, test_median_rank, seconds "
               "from rpt_model_leaderboard")


@click.command()
@click.option("--model", "models", multiple=True, default=["all"], show_default=True,
              type=click.Choice(["all", *MODELS]), help="Model to train (repeatable).")
@click.option("--folds", type=click.IntRange(2, 20), default=5, show_default=True,
              help="Grouped K-fold by photo.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--encoder", "image_enc", default=DEFAULT_IMAGE_ENCODER, show_default=True,
              type=click.Choice(list(IMAGE_VERSIONS)), help="Photo vectors to train on.")
@click.option("--text-encoder", "text_enc", default=DEFAULT_TEXT_ENCODER, show_default=True,
              type=click.Choice(list(TEXT_VERSIONS)), help="Text vectors to train on.")
@click.option("--force", is_flag=True, help="Train even when nothing changed since the last training.")
@db_option
@user_errors
def train(db, models, folds, seed, image_enc, text_enc, force):
    """Cross-validate, fit and register scorers; the best by cross-validated MRR among those whose
    cross-validated expert tau-c reaches the floor (TAU_C_FLOOR, 0.52; all, if none does) becomes active.

    A model whose data, encoders and settings are unchanged since its last training is skipped.
    """
    names = list(MODELS) if "all" in models else list(dict.fromkeys(models))
    with writing(db, "train") as con:
        from jobs.train import run_train
        result = run_train(con, artifacts_dir(db), names, folds, seed, image_enc, text_enc, force,
                           log=lambda m: click.echo(m, err=True))
        board = con.execute(LEADERBOARD).df()
        from ..searchpack import prepare
        click.echo(f"search pack: {prepare(con)}", err=True)
    if result.skipped:
        click.echo(f"unchanged, not retrained: {', '.join(result.skipped)}")
    click.echo(board.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    click.echo(f"active model: {result.active} (criterion: {CRITERION} among cv_tau_c >= {TAU_C_FLOOR})")


@click.command()
@db_option
@user_errors
def models(db):
    """The leaderboard: every model's cross-validated and test metrics."""
    con = wsdb.connect_read_only(db)
    try:
        board = con.execute(LEADERBOARD).df()
    finally:
        con.close()
    if board.empty:
        raise click.ClickException("No models yet: run `ws train` first.")
    click.echo(board.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
