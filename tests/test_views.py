import pytest

from jobs.ingest import run_ingest
from tests.conftest import table

A, B = "a.jpg", "b.jpg"


def add_expert(con, rows):
    con.executemany("insert into expert_annotations values (?, ?, ?, ?, ?, 'r')", rows)


def test_stg_expert_maps_scores_to_0_1(con):
    add_expert(con, [(A, f"{B}#0", 1, 2, 4), (A, f"{A}#1", 4, 4, 4)])
    rows = table(con, "select query_image, expert_1_01, expert_2_01, expert_3_01, expert_mean_01, "
                      "is_own_query, score_spread from stg_expert order by query_id")
    assert rows[0][0] == A and rows[0][5] is True and rows[0][6] == 0
    assert rows[0][1:5] == (1.0, 1.0, 1.0, 1.0)
    assert rows[1][0] == B and rows[1][5] is False and rows[1][6] == 3
    assert rows[1][1:5] == pytest.approx((0.0, 1 / 3, 1.0, 4 / 9))


def test_stg_crowd(con):
    con.execute("insert into crowd_annotations values (?, ?, 0.25, 1, 3, 'r')", [A, f"{B}#2"])
    assert table(con, "select query_image, share_yes, n_votes, is_own_query from stg_crowd") == [
        (B, 0.25, 4, False)]


def test_rpt_expert_agreement(con):
    add_expert(con, [(A, f"{B}#0", 1, 1, 1), (A, f"{B}#1", 1, 1, 2), (A, f"{B}#2", 1, 2, 4),
                     (B, f"{A}#0", 3, 3, 3)])
    rows = {(m, v): (n1, n2, n3, n, share) for m, v, n1, n2, n3, n, share in
            table(con, "select * from rpt_expert_agreement")}
    assert rows[("agreement", "all three agree")][3:] == (2, 0.5)
    assert rows[("agreement", "two agree")][3:] == (1, 0.25)
    assert rows[("agreement", "all differ")][3:] == (1, 0.25)
    assert rows[("score", "1")] == (3, 2, 1, 6, 0.5)
    assert rows[("score", "3")][:4] == (1, 1, 1, 3)
    assert rows[("spread", "3")][3] == 1


def test_rpt_data_quality_reports_the_latest_read_of_each_source(con, sample):
    with open(sample / "ExpertAnnotations.tsv", "a") as f:
        f.write("x.jpg\tx.jpg#0\t9\t1\t1\nx.jpg\ty.jpg#0\t0\t1\t1\n")
    run_ingest(con, [sample])
    run_ingest(con, [sample])  # the second read replaces the first in the report
    rows = table(con, "select rows_read, rows_loaded, rows_quarantined, reason, n_rows "
                      "from rpt_data_quality where source = 'sample/ExpertAnnotations.tsv'")
    assert rows == [(76, 74, 2, "expert_1 score … is not an integer 1..4", 2)]
    clean = table(con, "select rows_read, rows_loaded, rows_quarantined, reason, n_rows "
                       "from rpt_data_quality where source = 'sample/train_images'")
    assert clean == [(62, 62, 0, None, 0)]
