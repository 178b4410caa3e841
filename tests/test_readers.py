import pytest

from ws_core.ingest.readers import MAX_RAW_CHARS, read_file
from ws_core.ingest.specs import CROWD, DESCRIPTIONS, EXPERT, TEST_QUERIES, TRAIN_QUERIES

A = "1056338697_4f7d7ce270.jpg"
Q = "2549968784_39bfbe44f9.jpg#2"


def read(tmp_path, spec, data: bytes):
    path = tmp_path / spec.file_name
    path.write_bytes(data)
    return read_file(path, spec, spec.file_name)


def reasons(result):
    return [(r.line_no, r.reason) for r in result.rejects]


def test_expert_rows_load_and_bad_scores_are_quarantined(tmp_path):
    out = read(tmp_path, EXPERT, f"{A}\t{Q}\t1\t2\t4\n{A}\t{A}#1\t7\t1\t1\n".encode())
    assert [{k: v for k, v in r.items() if k != "_raw"} for r in out.rows] == [
        {"image": A, "query_id": Q, "expert_1": 1, "expert_2": 2, "expert_3": 4, "_line": 1}]
    assert reasons(out) == [(2, "expert_1 score '7' is not an integer 1..4")]
    assert out.rejects[0].raw == f"{A}\t{A}#1\t7\t1\t1"
    assert out.rows_read == 2


def test_crowd_share_must_match_its_counts(tmp_path):
    out = read(tmp_path, CROWD, (f"{A}\t{Q}\t0.666666666666667\t2\t1\n"
                                 f"{A}\t{A}#1\t1.5\t3\t0\n"
                                 f"{A}\t{A}#2\t0.5\t1\t2\n"
                                 f"{A}\t{A}#3\t0\t0\t0\n").encode())
    assert [r["share_yes"] for r in out.rows] == [0.666666666666667]
    assert reasons(out) == [
        (2, "share_yes '1.5' is not a number in [0, 1]"),
        (3, "share_yes '0.5' does not match n_yes / (n_yes + n_no) (1/3)"),
        (4, "no votes: n_yes + n_no is 0"),
    ]


def test_bom_crlf_and_quoted_fields(tmp_path):
    data = ('\ufeffimage,query_id,query_text\r\n'
            f'{A},{Q},"A man , with a sign "" Hi "" ."\r\n').encode()
    out = read(tmp_path, TRAIN_QUERIES, data)
    assert out.rejects == []
    assert out.rows[0]["text"] == 'A man , with a sign " Hi " .'
    assert out.rows[0]["written_for"] == "2549968784_39bfbe44f9.jpg"


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32", "utf-32-be"])
def test_utf16_and_utf32_with_their_mark_load_as_utf8(tmp_path, codec):
    text = "image,query_id,query_text\r\n" f"{A},{Q},Мальчик на велосипеде\r\n"
    mark = {"utf-16-be": "\ufeff", "utf-32-be": "\ufeff"}.get(codec, "")     # the -be codecs write none
    out = read(tmp_path, TRAIN_QUERIES, (mark + text).encode(codec))
    assert out.rejects == []
    assert [(r["_line"], r["text"]) for r in out.rows] == [(2, "Мальчик на велосипеде")]


def test_utf16_without_its_mark_is_refused_whole_with_one_reason(tmp_path):
    out = read(tmp_path, EXPERT, f"{A}\t{Q}\t1\t1\t1\n{A}\t{A}#1\t2\t2\t2\n".encode("utf-16-le"))
    assert out.rows == []
    assert reasons(out) == [(None, "file looks like UTF-16 or UTF-32 without a byte order mark (a quarter or "
                                   "more of its first bytes are NUL); save the file as UTF-8")]


def test_invalid_utf8_line_is_quarantined_and_the_rest_loads(tmp_path):
    data = (f"{A}\t{Q}\t1\t1\t1\n".encode() + f"{A}\t{A}#1\tcaf".encode() + b"\xe9\t1\t1\n"
            + f"{A}\t{A}#2\t2\t2\t2\n".encode())
    out = read(tmp_path, EXPERT, data)
    assert [r["query_id"] for r in out.rows] == [Q, f"{A}#2"]
    position = len(f"{A}\t{A}#1\tcaf")
    assert reasons(out) == [(2, f"line is not valid UTF-8 (byte 0xe9 at position {position}); "
                                "save the file as UTF-8")]
    assert out.rejects[0].raw.endswith("caf\\xe9\t1\t1")


def test_wrong_field_counts_and_wrong_delimiter(tmp_path):
    data = f"{A}\t{Q}\t1\t1\n{A}\t{Q}\t1\t1\t1\t1\n{A},{Q},1,1,1\n".encode()
    out = read(tmp_path, EXPERT, data)
    assert reasons(out) == [
        (1, "wrong number of fields (expected 5 separated by TAB, found 4)"),
        (2, "wrong number of fields (expected 5 separated by TAB, found 6)"),
        (3, "wrong number of fields (expected 5 separated by TAB, found 1); is the delimiter wrong?"),
    ]
    assert out.rows == []


def test_unbalanced_quote_costs_one_line(tmp_path):
    data = ("image\tdescription_id\tdescription\n"
            f'{A}\t{A}#0\t"A dog runs .\n'
            f"{A}\t{A}#1\tA dog sits .\n").encode()
    out = read(tmp_path, DESCRIPTIONS, data)
    assert [r["text_id"] for r in out.rows] == [f"{A}#1"]
    assert reasons(out) == [(2, "malformed quoting (unexpected end of data)")]


def test_duplicates_and_conflicts(tmp_path):
    data = (f"{A}\t{Q}\t1\t1\t1\n{A}\t{Q}\t1\t1\t1\n{A}\t{Q}\t4\t4\t4\n").encode()
    out = read(tmp_path, EXPERT, data)
    assert len(out.rows) == 1 and out.rows[0]["expert_1"] == 1
    assert reasons(out) == [
        (2, "duplicate row (same as line 1)"),
        (3, "same image, query_id with different values as an earlier row (line 1); the first is kept"),
    ]


def test_empty_file_header_only_and_wrong_header(tmp_path):
    assert reasons(read(tmp_path, EXPERT, b"")) == [(None, "file is empty")]
    header_only = read(tmp_path, DESCRIPTIONS, b"image\tdescription_id\tdescription\n")
    assert header_only.rows == [] and header_only.rejects == []
    wrong = read(tmp_path, DESCRIPTIONS, f"{A}\t{A}#0\tA dog .\n".encode())
    assert reasons(wrong) == [(1, "first line is not the header "
                                  "'image\\tdescription_id\\tdescription'; file skipped")]


def test_test_queries_with_leading_index_column(tmp_path):
    data = (f"|query_id|query_text|image\n0|{A}#0|Two dogs play .|{A}\n"
            f"1|{A}#1|A cat .|other.jpg\n").encode()
    out = read(tmp_path, TEST_QUERIES, data)
    assert [(r["text_id"], r["text"]) for r in out.rows] == [(f"{A}#0", "Two dogs play .")]
    assert reasons(out) == [(3, f"image 'other.jpg' is not the photo of query_id '{A}#1'")]


def test_huge_field_is_quarantined_with_its_raw_text_cut(tmp_path):
    big = "x" * 1_000_000
    out = read(tmp_path, DESCRIPTIONS,
               f"image\tdescription_id\tdescription\n{A}\t{A}#0\t{big}\n".encode())
    assert reasons(out) == [(2, "description is too long (1000000 characters; the limit is 2000)")]
    assert len(out.rejects[0].raw) < MAX_RAW_CHARS + 100
    line = f"{A}\t{A}#0\t{big}"
    assert out.rejects[0].raw == line[:MAX_RAW_CHARS] + f"... [cut: {len(line)} characters in all]"
