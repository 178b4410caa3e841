"""The bad-input catalogue (tests/bad_inputs.py), end to end through `ws ingest`: the clean sample is
stored first, then one fault is put into the same folder and it is ingested again. Each case states
the quarantine rows it must produce (source, line, reason) and how the stored counts change; nothing
stored before may be lost, and the job never fails."""
import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

from jobs.ingest import run_ingest
from tests.bad_inputs import CASES
from tests.conftest import table
from ws_core.ingest.readers import read_file
from ws_core.ingest.specs import CROWD, DESCRIPTIONS, EXPERT, TEST_QUERIES, TRAIN_QUERIES

E, C, T, D, P = ("sample/ExpertAnnotations.tsv", "sample/CrowdAnnotations.tsv", "sample/train_dataset.csv",
                 "sample/photo_descriptions.tsv", "sample/train_images")
UTF8 = "; save the file as UTF-8"

# case name -> (quarantine rows (source, line, reason), change in (photos, texts, expert, crowd))
EXPECTED = {
    "wrong delimiter": ([(E, 75, "wrong number of fields (expected 5 separated by TAB, found 1); "
                                 "is the delimiter wrong?")], (0, 0, 0, 0)),
    "missing field": ([(E, 75, "wrong number of fields (expected 5 separated by TAB, found 4)")], (0, 0, 0, 0)),
    "extra field": ([(E, 75, "wrong number of fields (expected 5 separated by TAB, found 6)")], (0, 0, 0, 0)),
    "unbalanced quote": ([(T, 76, "malformed quoting (unexpected end of data)")], (0, 0, 0, 0)),
    "BOM and CRLF": ([], (0, 0, 0, 0)),
    "UTF-16 with a byte order mark": ([], (0, 1, 0, 0)),
    "UTF-16 without a byte order mark": ([(E, None, "file looks like UTF-16 or UTF-32 without a byte order mark "
                                                    "(a quarter or more of its first bytes are NUL)" + UTF8)],
                                         (0, 0, 0, 0)),
    "UTF-16 mark on broken UTF-16": ([(E, None, "file starts with a UTF-16 byte order mark but is not valid "
                                                "UTF-16 (truncated data at byte 8836)" + UTF8)], (0, 0, 0, 0)),
    "Latin-1 bytes": ([(D, 312, "line is not valid UTF-8 (byte 0xe9 at position 55)" + UTF8)], (0, 0, 0, 0)),
    "invalid UTF-8 bytes": ([(E, 75, "line is not valid UTF-8 (byte 0xff at position 54)" + UTF8)], (0, 0, 0, 0)),
    "NUL byte in a row": ([(E, 75, "expert_1 score '1\\x00' is not an integer 1..4")], (0, 0, 0, 0)),
    # an empty or header-only file loads nothing and deletes nothing
    "empty file": ([(C, None, "file is empty")], (0, 0, 0, 0)),
    "header only": ([], (0, 0, 0, 0)),
    "1 MB text field": ([(D, 312, "description is too long (1000000 characters; the limit is 2000)")], (0, 0, 0, 0)),
    "duplicate key, conflicting values": ([(E, 75, "same image, query_id with different values as an earlier "
                                                   "row (line 1); the first is kept")], (0, 0, 0, 0)),
    "duplicate key, same values": ([(E, 75, "duplicate row (same as line 1)")], (0, 0, 0, 0)),
    "out-of-range score": ([(E, 75, "expert_1 score '5' is not an integer 1..4")], (0, 0, 0, 0)),
    "non-numeric score": ([(E, 75, "expert_1 score 'two' is not an integer 1..4")], (0, 0, 0, 0)),
    "NaN share": ([(C, 274, "share_yes 'nan' is not a number in [0, 1]")], (0, 0, 0, 0)),
    "inf share": ([(C, 274, "share_yes 'inf' is not a number in [0, 1]")], (0, 0, 0, 0)),
    "negative votes": ([(C, 274, "n_yes '-3' is not a whole number >= 0")], (0, 0, 0, 0)),
    "zero-byte photo": ([(P, None, "empty file (0 bytes)")], (0, 0, 0, 0)),
    "truncated JPEG": ([(P, None, "cannot decode the image (image file is truncated (19 bytes not processed))")],
                       (0, 0, 0, 0)),
    "PNG named .jpg": ([], (1, 0, 0, 0)),
    "GIF named .jpg": ([], (1, 0, 0, 0)),
    "text file named .jpg": ([(P, None, "not an image file (cannot identify the format)")], (0, 0, 0, 0)),
    "CMYK JPEG": ([], (1, 0, 0, 0)),
    "16-bit PNG": ([], (1, 0, 0, 0)),
    "EXIF orientation": ([], (1, 0, 0, 0)),
    "decompression bomb 30000x30000": ([(P, None, "image is too large to decode safely (Image size (900000000 "
                                                  "pixels) exceeds limit of 400000000 pixels, could be "
                                                  "decompression bomb DOS attack.)")], (0, 0, 0, 0)),
    "symlink outside the data folder": ([(P, None, "symbolic link pointing outside the data folder")], (0, 0, 0, 0)),
    "newline in a file name": ([(P, None, "photo name 'new\\nline.jpg' contains control characters")], (0, 0, 0, 0)),
    "very long file name": ([], (1, 0, 0, 0)),          # 254 bytes: within the 255-byte limit
    "'..' in a photo name": ([(E, 75, "photo name '../secret.jpg' contains a path separator")], (0, 0, 0, 0)),
    "'/' in a photo name": ([(E, 75, "photo name 'etc/passwd.jpg' contains a path separator")], (0, 0, 0, 0)),
    "NUL in a photo name": ([(E, 75, "photo name 'a\\x00b.jpg' contains control characters")], (0, 0, 0, 0)),
    "300-character photo name": ([(E, 75, "photo name is too long (over 255 bytes)")], (0, 0, 0, 0)),
    "empty text": ([(D, 312, "description is empty")], (0, 0, 0, 0)),
    "whitespace-only text": ([(D, 312, "description is empty")], (0, 0, 0, 0)),
    "100k-character text": ([(D, 312, "description is too long (101999 characters; the limit is 2000)")],
                            (0, 0, 0, 0)),
    "emoji text": ([], (0, 1, 0, 0)),
    "right-to-left marks": ([], (0, 1, 0, 0)),
    "SQL in a text": ([], (0, 1, 0, 0)),
}
COUNTS = ("select (select count(*) from photos), (select count(*) from texts), "
          "(select count(*) from expert_annotations), (select count(*) from crowd_annotations)")
CONTENT = ["select image, sha256, split from photos", "select text_id, text from texts",
           "select image, query_id, expert_1, expert_2, expert_3 from expert_annotations",
           "select image, query_id, share_yes from crowd_annotations"]


def test_catalogue_is_complete():
    assert len(CASES) >= 30
    assert [c.name for c in CASES] == list(EXPECTED)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case, con, sample):
    run_ingest(con, [sample])
    before = table(con, COUNTS)[0]
    stored = [set(table(con, q)) for q in CONTENT]
    case.damage(sample)
    result = run_ingest(con, [sample])          # never raises: faults are data
    quarantine, delta = EXPECTED[case.name]
    assert [(r.source, r.line_no, r.reason) for r in result.rejects] == quarantine
    assert table(con, "select source, line_no, reason from quarantine where job_run_id = ?",
                 [result.run_id]) == quarantine
    assert table(con, COUNTS)[0] == tuple(b + d for b, d in zip(before, delta))
    for q, rows in zip(CONTENT, stored):
        assert rows <= set(table(con, q)), f"rows lost from: {q}"
    assert table(con, "select count(*) from photos where path like '%..%' or image like '%/%'") == [(0,)]


def test_sql_text_is_stored_verbatim_and_harmless(con, sample):
    case = next(c for c in CASES if c.name == "SQL in a text")
    case.damage(sample)
    run_ingest(con, [sample])
    assert table(con, "select text from texts where text like '%DROP TABLE%'") == [("'); DROP TABLE scores; --",)]
    assert table(con, "select count(*) from information_schema.tables where table_name = 'scores'") == [(1,)]


SPECS = [EXPERT, CROWD, TRAIN_QUERIES, TEST_QUERIES, DESCRIPTIONS]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=st.sampled_from(SPECS),
       lines=st.lists(st.one_of(
           st.binary(max_size=80),
           st.text(alphabet=st.sampled_from('ab1.#jpg\t,"| \r\x00é🐕'), max_size=60).map(str.encode),
           st.builds(lambda a, b, s: f"{a}.jpg\t{b}.jpg#1\t{s}\t1\t1".encode(),
                     st.text("abc", min_size=1, max_size=3), st.text("abc", min_size=1, max_size=3),
                     st.sampled_from(["1", "4", "0", "x", "", "1.0", "nan"]))),
           max_size=12))
def test_readers_never_crash_and_account_for_every_line(tmp_path, spec, lines):
    """Any bytes: every line either loads or is quarantined with a reason; nothing raises."""
    path = tmp_path / spec.file_name
    path.write_bytes(b"\n".join(lines))
    out = read_file(path, spec, spec.file_name)
    assert all(r.reason for r in out.rejects)
    if any(r.line_no is None or r.reason.endswith("file skipped") for r in out.rejects):
        assert out.rows == [] and len(out.rejects) == 1        # the whole file is refused, once
    else:
        loaded = [r["_line"] for r in out.rows]
        rejected = [r.line_no for r in out.rejects]
        assert len(set(loaded)) == len(loaded) and not set(loaded) & set(rejected)
        assert len(loaded) + len(rejected) == out.rows_read
