"""Scores, search, reporting views, the report and the nightly chain, on the shipped sample with the
real bundled encoders (one nightly run per session, `built` in conftest, copied for tests that change
the database)."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from jobs.nightly import StageFailed, chain_lock, run_nightly
from jobs.score import run_score
from ws_core import db as wsdb
from ws_core import policy
from ws_core.cli import main
from ws_core.config import SAMPLE_DIR
from ws_core.errors import WsError
from ws_core.search import Searcher, top_candidates
from tests.conftest import table

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def searcher(db):
    con = wsdb.connect_read_only(db)
    try:
        return Searcher(con)
    finally:
        con.close()


def test_nightly_writes_every_stage_and_scores(db):
    con = wsdb.connect_read_only(db)
    runs = table(con, "select job, status from job_runs order by started_at")
    assert runs == [(j, "ok") for j in ("ingest", "files", "embed", "train", "policy", "pack", "score", "score",
                                         "report")]
    assert table(con, "select photo_set, count(*), count(distinct query_id), count(distinct image), min(rank), "
                      "max(rank), min(score) >= 0, max(score) <= 1 from scores join score_runs using (run_id) "
                      "group by all order by all") == [("all", 60 * 74, 60, 74, 1, 74, True, True),
                                                      ("test", 720, 60, 12, 1, 12, True, True)]
    # ranks follow scores within each query
    assert table(con, "select count(*) from (select query_id, rank, score, lag(score) over "
                      "(partition by run_id, query_id order by rank) as prev from scores) where prev < score") == [(0,)]
    con.close()


def test_retrieval_view_reproduces_the_training_test_metrics(db):
    con = wsdb.connect_read_only(db)
    off = table(con, "select r.r_at_1, r.r_at_5, r.r_at_10, r.mrr, r.n_queries from rpt_retrieval_metrics r "
                     "join models m using (model_id) where m.is_active and r.policy = 'off'")[0]
    trained = dict(table(con, "select metric, value from model_metrics join models using (model_id) "
                              "where is_active and split = 'test'"))
    assert off[:4] == pytest.approx([trained["r_at_1"], trained["r_at_5"], trained["r_at_10"], trained["mrr"]])
    assert off[4] == 60
    on = table(con, "select n_queries from rpt_retrieval_metrics r join models m using (model_id) "
                    "where m.is_active and r.policy = 'on'")[0][0]
    asking = table(con, "select count(*) from policy_flags f join texts t on t.text_id = f.entity_id "
                        "where f.entity_kind = 'query' and t.is_test_query")[0][0]
    assert on == 60 - asking and asking > 0
    con.close()


def test_top_matches_never_shows_a_flagged_photo_or_a_child_query(db):
    con = wsdb.connect_read_only(db)
    hidden = set(policy.hidden_photos(con))
    assert hidden
    shown = table(con, "select query_id, image from rpt_top_matches where shown")
    con.execute("create temp view test_matches as select * from rpt_top_matches where photo_set = 'test'")
    assert shown and not {im for _, im in shown} & hidden
    flagged_queries = {q for (q,) in table(con, "select entity_id from policy_flags where entity_kind = 'query'")}
    assert not {q for q, _ in shown} & flagged_queries
    reasons = dict(table(con, "select hidden_reason, count(*) from test_matches where not shown group by all"))
    assert reasons[policy.REASON_QUERY] == 12 * len(flagged_queries & {
        q for (q,) in table(con, "select text_id from texts where is_test_query")})
    # shown_rank counts only shown photos, from 1
    assert table(con, "select min(shown_rank), count(*) filter (where shown_rank is null and shown) "
                      "from rpt_top_matches") == [(1, 0)]
    con.close()


def test_consent_makes_a_flagged_photo_shown(db):
    con = wsdb.connect(db)
    image = table(con, "select image from stg_photo_policy where hidden and split = 'test' order by image")[0][0]
    matches = "rpt_top_matches where photo_set = 'test' and image = ?"
    before = table(con, f"select count(*) from {matches} and shown", [image])[0][0]
    policy.add_consent(con, image, "A. Guardian")
    after = table(con, f"select count(*) from {matches} and shown", [image])[0][0]
    asking = table(con, f"select count(distinct query_id) from {matches} and hidden_reason = ?",
                   [image, policy.REASON_QUERY])[0][0]
    assert (before, after) == (0, 60 - asking)
    con.close()


def test_search_over_all_test_queries_never_shows_hidden_photos(searcher, db):
    con = wsdb.connect_read_only(db)
    queries = table(con, "select text from texts where is_test_query order by text_id")
    hidden = set(policy.hidden_photos(con))
    con.close()
    disclaimers = 0
    for (text,) in queries:
        result = searcher.search(text, top=100)
        if result.disclaimer:
            disclaimers += 1
            assert result.results == [] and result.reason == "the query asks for photos of children"
            continue
        images = [h.image for h in result.results]
        assert images and not set(images) & hidden
        assert len(images) == 74 - len(hidden)       # every shown photo is ranked
        assert [h.rank for h in result.results] == list(range(1, len(images) + 1))
        assert all(a.score >= b.score for a, b in zip(result.results, result.results[1:]))
    assert disclaimers == 60 - table(wsdb.connect_read_only(db), "select n_queries from rpt_retrieval_metrics "
                                     "where policy = 'on'")[0][0]


def test_search_child_query_gets_the_disclaimer_unless_the_region_has_no_rule(db, searcher):
    result = searcher.search("two little girls playing")
    assert result.results == [] and result.disclaimer.startswith("We cannot show photos for this search")
    assert result.evidence == ["girls"]
    con = wsdb.connect(db)
    policy.set_region(con, "xx", False)
    free = Searcher(con, region="xx")
    con.close()
    hits = free.search("two little girls playing", top=5).results
    assert len(hits) == 5 and free.n_hidden == 0


def test_search_refuses_an_empty_query_and_cuts_a_huge_one(searcher):
    with pytest.raises(WsError, match="The query is empty"):
        searcher.search(" \t\n")
    huge = searcher.search("A dog runs across the grass " * 40000)          # about 1 MB
    assert huge.notes == ["the query is 1119999 characters long; only the first 1000, what the text "
                          "encoder reads, were used"]
    cut = searcher.search(("A dog runs across the grass " * 40000)[:1000])
    assert [(h.image, h.score) for h in huge.results] == [(h.image, h.score) for h in cut.results]


def test_cli_search_usage_errors_exit_2_before_loading(runner, db):
    for args in (["search", "   "], ["search"], ["search", "a dog", "--file", "-"]):
        out = runner.invoke(main, args, input="a dog\n")
        assert out.exit_code == 2, (args, out.output)
        assert out.stderr.splitlines()[-1].startswith("Error: ")
    out = runner.invoke(main, ["search", " \t "])
    assert out.stderr.splitlines()[-1] == "Error: The query is empty: describe the scene you are looking for."


def test_cli_search_file_answers_every_line_with_one_load(runner, db, tmp_path):
    queries = tmp_path / "q.txt"
    queries.write_text("A dog runs across the grass\n\nTwo little girls playing\nWomen play lacrosse.\n")
    out = runner.invoke(main, ["search", "--file", str(queries), "--json", "--top", "3"])
    assert out.exit_code == 0, out.output
    answers = [json.loads(line) for line in out.stdout.splitlines()]
    assert [a["query"] for a in answers] == ["A dog runs across the grass", "Two little girls playing",
                                             "Women play lacrosse."]
    assert answers[1]["disclaimer"] and answers[1]["results"] == []
    assert [len(a["results"]) for a in (answers[0], answers[2])] == [3, 3]
    assert all(r["weak"] is (r["score"] < 0.5) for a in answers for r in a["results"])
    assert out.stderr == "note: 1 blank lines skipped\n"
    # the same file saved as UTF-16 with its mark and Windows line ends: the same answers
    queries.write_bytes(queries.read_text().replace("\n", "\r\n").encode("utf-16"))
    again = runner.invoke(main, ["search", "--file", str(queries), "--json", "--top", "3"])
    assert again.exit_code == 0 and again.stdout == out.stdout
    assert again.stderr == "note: 1 blank lines skipped\n"


def test_cli_search_marks_weak_results_and_min_score_hides_them(runner, db):
    # every photo the sample can show: some of them fit a lacrosse game poorly
    out = runner.invoke(main, ["search", "Women play lacrosse.", "--json", "--top", "12"])
    results = json.loads(out.stdout)["results"]
    weak = [r for r in results if r["weak"]]
    assert weak and all(r["score"] < 0.5 for r in weak)
    floor = max(r["score"] for r in weak) + 1e-5      # JSON scores are rounded to 6 places
    kept = json.loads(runner.invoke(main, ["search", "Women play lacrosse.", "--json", "--top", "12",
                                           "--min-score", str(floor)]).stdout)["results"]
    assert [r["image"] for r in kept] == [r["image"] for r in results if r["score"] >= floor]
    text = runner.invoke(main, ["search", "Women play lacrosse.", "--top", "12"]).stdout.splitlines()
    if all(r["weak"] for r in results):
        assert text[0] == "no photo matches this well (every score is under 0.5); the closest:"
    assert sum(line.endswith("(weak)") for line in text) == len(weak)


def test_cli_child_query_is_answered_from_words_alone(runner, db, monkeypatch):
    import ws_core.search
    monkeypatch.setattr(ws_core.search.Searcher, "__init__", lambda *a, **k: pytest.fail("model loaded"))
    out = runner.invoke(main, ["search", "two kids on a swing", "--region", "XX"])
    assert out.exit_code == 0, out.output
    assert out.stdout.startswith("We cannot show photos for this search")
    assert out.stderr == "note: region 'XX' is not in jurisdictions; the default rule applies (children rule on)\n"


def test_scores_match_between_search_and_the_score_job(db, searcher):
    """The batch job and ad-hoc search give the same score to the same pair."""
    con = wsdb.connect_read_only(db)
    qid, text = table(con, "select t.text_id, t.text from texts t where t.is_test_query and t.text_id not in "
                           "(select entity_id from policy_flags) order by t.text_id limit 1")[0]
    stored = dict(table(con, "select image, score from scores where query_id = ?", [qid]))
    con.close()
    for hit in searcher.search(text, top=100).results:
        if hit.image in stored:
            # the job scores the stored query vector, search encodes the text again: same encoder
            assert hit.score == pytest.approx(stored[hit.image], abs=1e-5)


def test_two_stage_scoring_keeps_the_top_candidates(db):
    con = wsdb.connect(db)
    (pair,), = table(con, "select model_id from models where name = 'pair_linear'")
    run_score(con, "test", "all", model_id=pair, candidates=74)
    every = {(q, i): s for q, i, s in table(con, "select query_id, image, score from scores join score_runs "
                                                 "using (run_id) where photo_set = 'all'")}
    r = run_score(con, "test", "all", model_id=pair, candidates=5)
    assert (r.n_queries, r.n_photos, r.rows) == (60, 74, 300)
    # queries re-ranked in batches score each pair as the full run does
    two_stage = table(con, "select query_id, image, score from scores where run_id = ?", [r.run_id])
    assert all(s == pytest.approx(every[q, i], abs=1e-6) for q, i, s in two_stage)
    assert table(con, "select count(distinct query_id), max(rank) from scores where run_id = ?", [r.run_id]) == [(60, 5)]
    again = run_score(con, "test", "all", model_id=pair, candidates=5, force=True)
    assert table(con, "select run_id, count(*) from scores join score_runs using (run_id) where photo_set = 'all' "
                      "and score_runs.model_id = ? group by all", [pair]) == [(again.run_id, 300)]
    assert run_score(con, "test", "all", model_id=pair, candidates=5).skipped
    (bridge,), = table(con, "select model_id from models where name = 'label_bridge'")
    with pytest.raises(WsError, match=r"^The model has no two-tower to recall candidates with; score at "
                                      r"most 5 photos or raise --candidates to 74\.$"):
        run_score(con, "test", "all", model_id=bridge, candidates=5)
    con.close()


def test_top_candidates_orders_by_cosine():
    import numpy as np
    index = np.eye(4, dtype=np.float32)
    assert list(top_candidates(index, np.array([0.1, 0.9, 0.5, 0.0], dtype=np.float32), 2)) == [1, 2]
    assert list(top_candidates(index, np.array([0.1, 0.9, 0.5, 0.0], dtype=np.float32), 10)) == [1, 2, 0, 3]


def test_second_nightly_does_no_model_work(db):
    lines = []
    result = run_nightly(db, [SAMPLE_DIR], folds=3, log=lines.append)
    outcomes = dict(result.stages)
    assert outcomes["ingest"] == "0 new or changed rows, 0 quarantined"
    assert outcomes["files"] == "74 of 74 photo files ok"
    assert outcomes["embed"] == "0 photos and 0 texts embedded, 0 failed"
    assert outcomes["train"].startswith("trained: nothing changed; active: ")
    assert (outcomes["policy"], outcomes["score"], outcomes["pack"]) == ("unchanged", "unchanged", "unchanged")
    con = wsdb.connect_read_only(db)
    assert table(con, "select count(*) from models") == [(9,)]
    assert table(con, "select job, count(*) from job_runs group by job order by job") == [
        (j, 4 if j == "score" else 2) for j in ("embed", "files", "ingest", "pack", "policy", "report", "score",
                                                "train")]
    con.close()


def test_nightly_lock_refuses_a_second_chain(db, runner):
    with chain_lock(db):
        with pytest.raises(WsError, match=r"Another `ws nightly` is running on .*\(pid \d+\)"):
            run_nightly(db, folds=3, log=lambda m: None)
        out = runner.invoke(main, ["nightly", "--wait", "0.6"])
        assert out.exit_code == 1 and "Error: Another `ws nightly` is running" in out.output
    # the lock went with its holder: the chain runs now
    assert run_nightly(db, folds=3, log=lambda m: None).stages


def test_nightly_names_the_failed_stage(db, runner, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    blocker = blocker / "report"          # a folder inside a file cannot be made
    with pytest.raises(StageFailed) as err:
        run_nightly(db, folds=3, report_dir=blocker, log=lambda m: None)
    assert err.value.stage == "report"
    out = runner.invoke(main, ["nightly", "--report-dir", str(blocker)])
    assert out.exit_code == 1 and "Error: nightly stopped: stage 'report' failed:" in out.output
    con = wsdb.connect_read_only(db)
    assert table(con, "select status from job_runs where job = 'report' order by started_at desc limit 1") == [("failed",)]
    con.close()


def test_cli_search_text_json_and_html(db, runner, tmp_path):
    out = runner.invoke(main, ["search", "A dog runs across the grass", "--top", "3"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert len(lines) == 3 and [ln.split()[0] for ln in lines] == ["1", "2", "3"]
    assert all(Path(ln.split()[2]).exists() for ln in lines)
    page = tmp_path / "s.html"
    out = runner.invoke(main, ["search", "A dog runs across the grass", "--top", "4", "--json", "--html", str(page)])
    data = json.loads(out.output)
    assert data["query"] == "A dog runs across the grass" and data["disclaimer"] is None
    assert [r["rank"] for r in data["results"]] == [1, 2, 3, 4]
    assert set(data["results"][0]) == {"rank", "image", "path", "score", "weak"}
    assert page.read_text().count('src="data:image/jpeg;base64,') == 4
    assert page.read_text().count('class="hit weak"') == sum(r["weak"] for r in data["results"])
    out = runner.invoke(main, ["search", "two little girls playing", "--json"])
    data = json.loads(out.output)
    assert data["results"] == [] and data["disclaimer"].startswith("We cannot show photos")
    out = runner.invoke(main, ["search", "two little girls playing"])
    assert "(the query asks for photos of children: girls)" in out.output
    out = runner.invoke(main, ["search", "   "])
    assert out.exit_code == 2 and "Error: The query is empty" in out.output


def test_search_html_escapes_the_query(searcher, tmp_path):
    from ws_core.report import search_page
    page = search_page(searcher.search("<script>alert(1)</script> dog", top=2), tmp_path / "p.html")
    html = page.read_text()
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; dog" in html


def test_report_sections(built):
    html = (built.parent / "ws.artifacts" / "report" / "index.html").read_text()
    for section in ("data", "target", "models", "examples", "policy", "conclusions"):
        assert f'<h2 id="{section}">' in html
    assert html.count('src="data:image/png;base64,') == 5       # experts, crowd, target, board, calibration
    assert html.count('class="disclaimer"') == 2
    assert "http://" not in html and "https://" not in html    # nothing fetched from the network
    assert "<h3>Whole-catalogue ranking (active model, children rule off)</h3>" in html
    assert "Against the whole catalogue (74 photos) instead of the test photos" in html
    con = wsdb.connect_read_only(built)
    m = dict(table(con, "select measure, value from rpt_policy_summary where category = 'query check'"))
    con.close()
    assert (f"on 324 English and 226 Russian labelled queries it never trained on, it catches "
            f"{m['cv_en_recall']:.0%} and {m['cv_ru_recall']:.0%} of those that ask for children") in html
    # the report's numbers come from the data: 60 test queries on the sample, the pixel recall it reached
    con = wsdb.connect_read_only(built)
    pix = dict(table(con, "select measure, value from rpt_policy_summary where category = 'pixel classifier'"))
    con.close()
    assert "On the 60 test queries it puts the right photo first" in html
    assert f"hides photos at a threshold set for {pix['cv_recall']:.0%} out-of-fold recall" in html


def test_catalogue_view_ranks_each_test_query_against_every_photo(db):
    con = wsdb.connect(db)
    rows = table(con, "select scope, n_photos, n_queries from rpt_catalogue_retrieval r join models m "
                      "using (model_id) where m.is_active order by scope")
    assert rows == [("all photos", 74, 60), ("catalogue", 74, 60)]
    # a training-only dataset leaves the catalogue scope, not the 'all photos' one; ranks only improve
    before = dict(table(con, "select scope, mrr from rpt_catalogue_retrieval"))
    con.execute("update photos set dataset = 'more-photos' where split = 'train'")
    after = dict(table(con, "select scope, mrr from rpt_catalogue_retrieval"))
    assert after["all photos"] == pytest.approx(before["all photos"]) and after["catalogue"] > before["catalogue"]
    assert table(con, "select n_photos from rpt_catalogue_retrieval where scope = 'catalogue'") == [(12,)]
    # on the 12 test photos alone, the catalogue view agrees with rpt_retrieval_metrics
    on_test = table(con, "select r_at_1, r_at_5, r_at_10, mrr from rpt_retrieval_metrics r join models m "
                         "using (model_id) where m.is_active and policy = 'off'")[0]
    cat = table(con, "select r_at_1, r_at_5, r_at_10, mrr from rpt_catalogue_retrieval r join models m "
                     "using (model_id) where m.is_active and scope = 'catalogue'")[0]
    assert cat == pytest.approx(on_test, rel=1e-9)
    con.close()


def test_report_renders_in_headless_chromium(built, tmp_path):
    if CHROMIUM is None:
        if os.environ.get("WS_REQUIRE_CHROMIUM"):
            pytest.fail("chromium is required here (WS_REQUIRE_CHROMIUM) but not installed")
        pytest.skip("Debian's chromium is not installed (.ci/test installs it when run as root)")
    page = built.parent / "ws.artifacts" / "report" / "index.html"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]
    shot = tmp_path / "report.png"
    subprocess.run([CHROMIUM, *flags, "--window-size=1200,3000", f"--screenshot={shot}", page.as_uri()],
                   check=True, capture_output=True, timeout=120)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", page.as_uri()], check=True, capture_output=True,
                         text=True, timeout=120).stdout
    for title in ("The data", "The target", "Models", "Test queries: what a user sees", "The children rule",
                  "Conclusions"):
        assert f">{title}</h2>" in dom
    assert dom.count("<img") >= 6 + 5


def test_calibration_view_bins_every_out_of_fold_score(db):
    con = wsdb.connect_read_only(db)
    n_oof = dict(table(con, "select model_id, count(*) from model_oof group by all"))
    bins = table(con, "select model_id, count(*), sum(n_pairs), min(bin), max(bin) from rpt_calibration group by all")
    assert len(bins) == 9 and all(m in n_oof for m, *_ in bins)
    for model_id, n_bins, n_pairs, lo, hi in bins:
        assert (n_bins, n_pairs, lo, hi) == (10, n_oof[model_id], 1, 10)
    # out-of-fold rows are the judged pairs the cross-validation scored, each once, scores in [0, 1]
    assert table(con, "select count(*) from (select model_id, image, text_id from model_oof group by all "
                      "having count(*) > 1)") == [(0,)]
    assert table(con, "select min(score) >= 0 and max(score) <= 1 from model_oof") == [(True,)]
    con.close()


@pytest.fixture
def shown_pair(db):
    """A test query and its own photo, neither touched by the children rule, with the stored score."""
    con = wsdb.connect_read_only(db)
    row = table(con, "select m.query_id, m.query_text, m.image, m.score, p.path from rpt_top_matches m "
                     "join texts t on t.text_id = m.query_id and t.image = m.image join photos p on p.image = m.image "
                     "where m.shown and m.photo_set = 'test' order by m.query_id limit 1")[0]
    con.close()
    return row


def test_rate_scores_a_catalogue_photo_as_the_score_job_does(runner, shown_pair):
    _, text, image, stored, _ = shown_pair
    out = runner.invoke(main, ["rate", image, text, "a city skyline at night", "two kids on a swing", "--json"])
    assert out.exit_code == 0, out.output
    own, other, child = [json.loads(line) for line in out.stdout.splitlines()]
    # the search pack scores in numpy, the score job in torch: equal to the 6th digit
    assert own["score"] == pytest.approx(stored, abs=1e-5) and own["weak"] is (stored < 0.5)
    assert other["score"] < own["score"] and other["disclaimer"] is None
    assert child["score"] is None and child["disclaimer"].startswith("We cannot show photos")
    assert child["reason"] == "the query asks for photos of children"


def test_rate_embeds_a_new_photo_file_on_the_fly_and_stores_nothing(runner, db, shown_pair, tmp_path):
    _, text, image, stored, path = shown_pair
    copy = tmp_path / "new-photo.jpg"
    shutil.copy(path, copy)
    before = runner.invoke(main, ["sql", "select count(*) as n from photos", "--csv"]).stdout
    out = runner.invoke(main, ["rate", str(copy), text, "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["score"] == pytest.approx(stored, abs=1e-4)   # vectors within 1e-5
    assert runner.invoke(main, ["sql", "select count(*) as n from photos", "--csv"]).stdout == before


def test_rate_hides_a_flagged_photo_and_refuses_bad_input(runner, db, tmp_path):
    con = wsdb.connect_read_only(db)
    flagged = table(con, "select image from stg_photo_policy where hidden order by image limit 1")[0][0]
    con.close()
    out = runner.invoke(main, ["rate", flagged, "A dog runs across the grass", "собака бежит по траве",
                               "two kids on a swing", "--json"])
    dog, dog_ru, kids = (json.loads(line) for line in out.stdout.splitlines())
    assert dog["reason"] == dog_ru["reason"] == "the photo may show a child and has no parent's consent"
    # the photo is held back, not the query: its own disclaimer, in the query's language
    assert dog["disclaimer"].startswith("We cannot show this photo: it may show a child")
    assert dog_ru["disclaimer"].startswith("Мы не можем показать эту фотографию: на ней может быть ребёнок")
    assert kids["reason"] == "the query asks for photos of children"
    assert kids["disclaimer"].startswith("We cannot show photos for this search: the query asks")
    out = runner.invoke(main, ["rate", flagged, "A dog runs across the grass", "--json", "--region", "XX"])
    assert out.stderr.startswith("note: region 'XX' is not in jurisdictions; the default rule applies")
    text_file = tmp_path / "notes.jpg"
    text_file.write_text("not a photo")
    out = runner.invoke(main, ["rate", str(text_file), "a dog"])
    assert out.exit_code == 1 and out.stderr.startswith(f"Error: Cannot read {text_file} as a photo: ")
    out = runner.invoke(main, ["rate", "nowhere.jpg", "a dog"])
    assert out.exit_code == 1
    assert out.stderr == "Error: nowhere.jpg is neither a photo in the catalogue nor a readable file.\n"
    assert runner.invoke(main, ["rate", flagged, " "]).exit_code == 2


def test_one_clock_under_a_non_utc_zone(built, tmp_path):
    """Every stored timestamp is UTC, so the score job's 'newer than its inputs' holds in any zone:
    under Moscow time (UTC+3) a score run once looked 3 hours newer than the job runs around it."""
    import subprocess
    import sys
    db = tmp_path / "tz.duckdb"
    shutil.copy(built, db)
    code = ("from pathlib import Path; from ws_core import db as wsdb; from jobs.score import run_score\n"
            f"con = wsdb.connect(Path({str(db)!r}))\n"
            "print(run_score(con, 'test', 'test', force=True).rows)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "TZ": "Europe/Moscow"}, check=True)
    assert out.stdout.split() == ["720"]
    con = wsdb.connect_read_only(db)
    run_end, scored = table(con, "select r.finished_at, s.created_at from job_runs r join score_runs s "
                                 "on s.run_id = r.run_id order by r.finished_at desc limit 1")[0]
    con.close()
    # the score run is written just before its job run finishes, by the same clock
    assert 0 <= (run_end - scored).total_seconds() < 60


def test_the_nightly_catalogue_run_recalls_as_many_photos_as_search():
    from jobs.nightly import CATALOGUE_CANDIDATES
    from ws_core.search import CANDIDATES
    assert CATALOGUE_CANDIDATES == CANDIDATES


def test_report_says_what_training_only_photos_add(db, tmp_path):
    from ws_core.report import build_report
    con = wsdb.connect(db)
    con.execute("update photos set dataset = 'more' where image in (select distinct image from texts "
                "where is_description order by image limit 7)")
    con.execute("insert into training_only_datasets values ('more', 'test')")
    (own, more, n_desc), = table(con, "select count(distinct image) filter (where dataset <> 'more'), "
                                      "count(distinct image) filter (where dataset = 'more'), "
                                      "count(*) filter (where dataset = 'more') "
                                      "from texts join photos using (image) where is_description")
    html = build_report(con, tmp_path / "report").read_text()
    con.close()
    assert more == 7
    assert (f"7 training-only photos (more, {n_desc} descriptions) grow the described photos from {own} to "
            f"{own + 7}: every bridge") in html


def test_bench_search_cold_times_whole_processes(runner, db):
    out = runner.invoke(main, ["bench", "search", "--cold", "--runs", "1"])
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    assert [line.split("  ")[0] for line in lines[2:]] == [
        "python -c pass (baseline)", "ws search: child query (no model loaded)", "ws search: English query",
        "ws search: Russian query", "ws search: English query, --no-pack", "ws search: Russian query, --no-pack"]
    seconds = [float(line.split()[-2]) for line in lines[2:]]
    assert seconds[0] < min(seconds[1:]) and lines[2].split()[-1] == "1.0"
