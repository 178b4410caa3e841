"""The static HTML report (`ws report`) and the search results page (`ws search --html`).

Everything comes from the database's reporting views; plots are matplotlib PNGs and thumbnails JPEGs,
both inlined as data URIs, so the page is one file that needs no network and no other files.
"""
import base64
import io
from datetime import datetime, timezone
from pathlib import Path

import jinja2
import numpy as np

from . import policy
from .config import WEAK_BELOW
from .encoders.preprocess import PhotoError, load_rgb

TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("ws_core", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]),   # query texts are user input
    undefined=jinja2.StrictUndefined,
)
EXAMPLES = 8        # test queries shown with their top 5
THUMB = 160


def thumbnail(path: str) -> str | None:
    """A small JPEG as a data URI; None when the file is gone or unreadable (the page says so)."""
    try:
        im = load_rgb(path, at_least=THUMB)
    except PhotoError:
        return None
    im.thumbnail((THUMB, THUMB))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


def _plot(draw) -> str:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=100)
    draw(ax)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def search_page(result, out: Path) -> Path:
    hits = [dict(rank=h.rank, image=h.image, score=h.score, weak=h.weak, thumb=thumbnail(h.path))
            for h in result.results]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(TEMPLATES.get_template("search.html.j2").render(result=result, hits=hits, weak_below=WEAK_BELOW),
                   encoding="utf-8")
    return out


def _frame(con, sql, params=()):
    return con.execute(sql, list(params)).df()


def build_report(con, out_dir: Path) -> Path:
    ctx: dict = {"generated": f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC", "plots": {}}
    counts = dict(con.execute("select measure, value from rpt_dataset_overview").fetchall())
    ctx["counts"] = counts
    ctx["quality"] = _frame(con, "select source, rows_read, rows_loaded, rows_quarantined from rpt_data_quality "
                                 "group by all order by source")
    agreement = _frame(con, "select * from rpt_expert_agreement")
    crowd = _frame(con, "select * from rpt_crowd_vs_expert")
    targets = _frame(con, "select target, target_source from train_targets")
    ctx["agreement"] = agreement[agreement.measure == "agreement"][["value", "n", "share"]]
    ctx["crowd"] = crowd
    scores = agreement[agreement.measure == "score"]
    if len(scores):
        ctx["plots"]["experts"] = _plot(lambda ax: (
            ax.bar(scores["value"].astype(str), scores["share"], color="#4a7"),
            ax.set(xlabel="expert score (1 = no match, 4 = full match)", ylabel="share of ratings",
                   title="Expert scores")))
    shares = _frame(con, "select share_yes from crowd_annotations")
    if len(shares):
        ctx["plots"]["crowd"] = _plot(lambda ax: (
            ax.hist(shares["share_yes"], bins=20, color="#47a"),
            ax.set(xlabel="share of crowd workers saying 'matches'", ylabel="pairs", yscale="log",
                   title="Crowd shares")))
    if len(targets):
        ctx["plots"]["target"] = _plot(lambda ax: (
            [ax.hist(targets.loc[targets.target_source == s, "target"], bins=20, alpha=0.6, label=s)
             for s in sorted(targets.target_source.unique())],
            ax.set(xlabel="target (0..1)", ylabel="pairs", yscale="log", title="Training target by source"),
            ax.legend()))
    ctx["target_stats"] = _frame(con, "select target_source, count(*) as pairs, avg(target) as mean_target "
                                      "from train_targets group by all order by 1")
    board = _frame(con, "select name, is_active, cv_rmse, cv_tau_c, cv_tau_b, cv_mrr, test_r_at_1, "
                        "test_r_at_5, test_r_at_10, test_mrr, model_id from rpt_model_leaderboard")
    ctx["board"] = board
    if len(board):
        b = board.sort_values("cv_mrr")
        ctx["plots"]["board"] = _plot(lambda ax: (
            ax.barh(b["name"], b["cv_mrr"], color="#a74", label="CV MRR (chooses the model)"),
            ax.scatter(b["test_mrr"], b["name"], color="k", zorder=3, label="test MRR (reported once)"),
            ax.set(xlabel="mean reciprocal rank", title="Models"), ax.legend(loc="lower right")))
    active = board[board.is_active] if len(board) else board
    ctx["active"] = active.iloc[0].to_dict() if len(active) else None
    if ctx["active"]:
        calib = _frame(con, "select bin, mean_score, mean_target from rpt_calibration where model_id = ?",
                       [ctx["active"]["model_id"]])
        if len(calib):
            ctx["plots"]["calibration"] = _plot(lambda ax: (
                ax.plot([0, 1], [0, 1], ls="--", color="grey"),
                ax.plot(calib["mean_score"], calib["mean_target"], marker="o", color="#a47"),
                ax.set(xlabel="mean out-of-fold score (decile)", ylabel="mean target",
                       title=f"Calibration of {ctx['active']['name']}")))
            ctx["calibration_gap"] = float(np.abs(calib["mean_score"] - calib["mean_target"]).max())
    ctx["retrieval"] = _frame(con, "select r.*, m.name from rpt_retrieval_metrics r join models m using (model_id) "
                                   "where m.is_active order by policy")
    ctx["catalogue"] = _frame(con, "select r.* from rpt_catalogue_retrieval r join models m using (model_id) "
                                   "where m.is_active order by scope desc")
    ctx["policy"] = _frame(con, "select * from rpt_policy_summary")
    ctx["described"] = _frame(con, "select * from rpt_described_photos")
    ctx["examples"] = _examples(con)
    ctx["conclusions"] = _conclusions(ctx)
    out_dir.mkdir(parents=True, exist_ok=True)
    page = out_dir / "index.html"
    tmp = page.with_suffix(".tmp")
    tmp.write_text(TEMPLATES.get_template("report.html.j2").render(**ctx), encoding="utf-8")
    tmp.replace(page)       # a reader never sees half a report
    return page


def _examples(con) -> list[dict]:
    """The first test queries by id, half asking for children where there are such: what a user sees."""
    rows = _frame(con, "select m.query_id, m.query_text, m.rank, m.image, m.score, m.shown, m.hidden_reason, "
                       "m.shown_rank, p.path, t.image as own_image from rpt_top_matches m "
                       "join models o on o.model_id = m.model_id and o.is_active "
                       "join photos p on p.image = m.image join texts t on t.text_id = m.query_id "
                       "where m.query_set = 'test' and m.photo_set = 'test' and (m.shown_rank <= 5 or "
                       "(m.hidden_reason = ? and m.rank = 1)) order by m.query_id, m.rank",
                   [policy.REASON_QUERY])
    if rows.empty:
        return []
    first = rows.groupby("query_id").first()
    child = first.index[first.hidden_reason == policy.REASON_QUERY]
    other = first.index[first.hidden_reason != policy.REASON_QUERY]
    n_child = min(len(child), EXAMPLES // 4)
    picked = sorted(list(other[:EXAMPLES - n_child]) + list(child[:n_child]))
    disclaimer = policy.disclaimer(con, "en")
    out = []
    for qid in picked:
        q = rows[rows.query_id == qid]
        asks = q.iloc[0].hidden_reason == policy.REASON_QUERY
        out.append({"query_id": qid, "text": q.iloc[0].query_text, "disclaimer": disclaimer if asks else None,
                    "hits": [] if asks else [
                        {"rank": int(r.shown_rank), "image": r.image, "score": r.score, "weak": r.score < WEAK_BELOW,
                         "own": r.image == r.own_image, "thumb": thumbnail(r.path)}
                        for r in q.itertuples() if r.shown]})
    return out


def _conclusions(ctx) -> list[str]:
    out = []
    ag = ctx["agreement"].set_index("value")["share"] if len(ctx["agreement"]) else {}
    if len(ag):
        out.append(f"Experts are noisy: all three agree on {ag.get('all three agree', 0):.0%} of pairs, so no "
                   "model can be perfect against any single expert; the target averages them.")
    if len(ctx["crowd"]):
        out.append(f"Crowd and experts tell the same story (Pearson {ctx['crowd'].iloc[0].pearson_all:.2f} on "
                   f"{int(ctx['crowd'].iloc[0].n_both)} pairs both judged), which is why crowd shares are "
                   "usable as a weaker target.")
    r = ctx["retrieval"].set_index("policy") if len(ctx["retrieval"]) else None
    pol = ctx["policy"]
    pix = dict(zip(pol.measure[pol.category == "pixel classifier"], pol.value[pol.category == "pixel classifier"])) \
        if len(pol) else {}
    a = ctx["active"]
    if a:
        n_test = f"{int(r.loc['off', 'n_queries'])} " if r is not None and "off" in r.index else ""
        from .training import TAU_C_FLOOR
        floor = (f" among the models whose out-of-fold expert tau-c reaches {TAU_C_FLOOR:.2f}"
                 if (a["cv_tau_c"] or 0) >= TAU_C_FLOOR else "")
        out.append(f"The active model, {a['name']}, was chosen by cross-validated MRR ({a['cv_mrr']:.3f}){floor}. "
                   f"On the {n_test}test queries it puts the right photo first {a['test_r_at_1']:.0%} of the time, "
                   f"in the top 5 {a['test_r_at_5']:.0%} and in the top 10 {a['test_r_at_10']:.0%} "
                   f"(expert tau-c {a['cv_tau_c']:.2f} out of fold).")
        board = ctx["board"]
        seed = board[board.name == "linear"]
        if len(seed):
            out.append(f"The seed notebook's linear regression on concatenated vectors reaches test MRR "
                       f"{seed.iloc[0].test_mrr:.3f} against {a['test_mrr']:.3f}: a linear model on a "
                       "concatenation cannot express how well a text fits a photo, only how typical each is.")
    if "calibration_gap" in ctx:
        gap = ctx["calibration_gap"]
        out.append(f"Scores are calibrated: in every decile the mean score is within {gap:.2f} of the mean "
                   "target, so one threshold means the same for every query." if gap <= 0.1 else
                   f"Calibration is loose: in some decile the mean score is {gap:.2f} away from the mean "
                   "target (few judged pairs make the isotonic map coarse).")
    if r is not None and "on" in r.index:
        why = (f" because the pixel classifier hides photos at a threshold set for {pix['cv_recall']:.0%} "
               "out-of-fold recall" if "cv_recall" in pix else " because flagged photos are hidden")
        out.append(f"The children rule costs retrieval quality: with it on, {int(r.loc['off', 'n_queries'] - r.loc['on', 'n_queries'])} "
                   f"of {int(r.loc['off', 'n_queries'])} test queries get the disclaimer, and for the rest "
                   f"R@5 falls from {r.loc['off', 'r_at_5']:.0%} to {r.loc['on', 'r_at_5']:.0%}{why}.")
    cat = ctx["catalogue"].set_index("scope") if len(ctx["catalogue"]) else None
    if cat is not None and "catalogue" in cat.index:
        c = cat.loc["catalogue"]
        out.append(f"Against the whole catalogue ({int(c.n_photos)} photos) instead of the test photos, the "
                   f"right photo is first for {c.r_at_1:.0%} of the test queries and in the top 10 for "
                   f"{c.r_at_10:.0%}: many catalogue photos show similar scenes.")
    d = ctx["described"].set_index("teaching_only") if len(ctx["described"]) else None
    if d is not None and True in d.index:
        own = int(d.loc[False, "photos"]) if False in d.index else 0
        t = d.loc[True]
        out.append(f"{int(t.photos)} training-only photos ({t.datasets}, {int(t.descriptions)} descriptions) "
                   f"grow the described photos from {own} to {own + int(t.photos)}: every bridge, the two-tower "
                   "and the children classifier learn from them, but they never sit in an evaluation fold, "
                   "so the cross-validated numbers speak of the service's own photos.")
    if len(pol):
        m = dict(zip(pol.measure, pol.value))
        if "test_recall" in m:
            out.append(f"The pixel classifier catches {m['test_recall']:.0%} of the test photos with children "
                       f"at precision {m['test_precision']:.0%}: the threshold trades many false alarms for few "
                       "misses, since showing a child is the costly error.")
        if "cv_en_recall" in m:
            out.append(f"Queries are checked by words and, beside them, a classifier of their meaning: on "
                       f"{int(m['labelled_en_queries'])} English and {int(m['labelled_ru_queries'])} Russian "
                       f"labelled queries it never trained on, it catches {m['cv_en_recall']:.0%} and "
                       f"{m['cv_ru_recall']:.0%} of those that ask for children, with false alarms on "
                       f"{m['cv_en_false_alarms']:.0%} and {m['cv_ru_false_alarms']:.0%} of the others.")
    return out
