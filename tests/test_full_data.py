"""Acceptance on the real With Sense data (skipped with a reason when ../shared/data is absent)."""
import pytest

from jobs.ingest import run_ingest
from tests.conftest import table

pytestmark = pytest.mark.full_data

COUNTS = "select (select count(*) from photos), (select count(*) from texts), " \
         "(select count(*) from expert_annotations), (select count(*) from crowd_annotations), " \
         "(select count(*) from quarantine)"


def test_full_data_ingest(con, shared_data):
    ws = shared_data / "with-sense"
    desc = shared_data / "photo-descriptions" / "photo_descriptions.tsv"
    first = run_ingest(con, [ws], [desc])
    assert first.rejects == []
    assert table(con, COUNTS) == [(1100, 5500, 5822, 47830, 0)]
    assert table(con, "select count(*) filter (where is_train_query), count(*) filter (where "
                      "is_description), count(*) filter (where is_test_query) from texts") == [(977, 5000, 500)]

    second = run_ingest(con, [ws], [desc])
    assert second.rows_out == 0
    assert table(con, COUNTS) == [(1100, 5500, 5822, 47830, 0)]
    assert table(con, "select count(*) from job_runs where status = 'ok'") == [(2,)]

    extra = shared_data / "extra-photos"
    run_ingest(con, [extra], [extra / "photo_descriptions.tsv"])
    assert table(con, COUNTS) == [(1463, 7315, 5822, 47830, 0)]
