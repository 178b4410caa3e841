import pytest

from ws_core.ingest import validate as v


@pytest.mark.parametrize("name", ["1056338697_4f7d7ce270.jpg", "a.JPEG", "b.png", " c.jpg "])
def test_photo_name_accepts_plain_file_names(name):
    assert v.photo_name(name) == name.strip()


@pytest.mark.parametrize("name, reason", [
    ("", "photo name is empty"),
    ("../../etc/passwd", "contains a path separator"),
    ("/etc/passwd.jpg", "contains a path separator"),
    ("a\\b.jpg", "contains a path separator"),
    ("..jpg", "contains '..'"),
    ("a..b.jpg", "contains '..'"),
    ("C:x.jpg", "contains ':'"),
    ("a\x00b.jpg", "contains control characters"),
    ("a\nb.jpg", "contains control characters"),
    ("x" * 300 + ".jpg", "photo name is too long (over 255 bytes)"),
    ("notes.txt", "does not end in .jpg, .jpeg or .png"),
    (".jpg", "does not end in .jpg, .jpeg or .png"),
])
def test_photo_name_rejects_path_tricks(name, reason):
    with pytest.raises(v.BadValue, match=None) as exc:
        v.photo_name(name)
    assert reason in str(exc.value)


def test_text_id_gives_the_photo_it_was_written_for():
    assert v.text_id("1056338697_4f7d7ce270.jpg#2") == ("1056338697_4f7d7ce270.jpg#2",
                                                        "1056338697_4f7d7ce270.jpg")


@pytest.mark.parametrize("value, reason", [
    ("1056338697_4f7d7ce270.jpg", "is not of the form <photo>.jpg#<k>"),
    ("1056338697_4f7d7ce270.jpg#x", "is not of the form <photo>.jpg#<k>"),
    ("#3", "is not of the form <photo>.jpg#<k>"),
    ("../a.jpg#1", "contains a path separator"),
])
def test_text_id_rejects_bad_forms(value, reason):
    with pytest.raises(v.BadValue) as exc:
        v.text_id(value, "query_id")
    assert reason in str(exc.value)
    assert str(exc.value).startswith("query_id ")


@pytest.mark.parametrize("value, expected", [("1", 1), ("4", 4), (" 3 ", 3)])
def test_expert_score_accepts_1_to_4(value, expected):
    assert v.expert_score(value, "expert_1") == expected


@pytest.mark.parametrize("value", ["0", "5", "7", "2.5", "two", "", "nan", "-1"])
def test_expert_score_rejects_others(value):
    with pytest.raises(v.BadValue) as exc:
        v.expert_score(value, "expert_2")
    assert str(exc.value) == f"expert_2 score {value.strip()!r} is not an integer 1..4"


@pytest.mark.parametrize("value, expected", [("0", 0.0), ("1", 1.0), ("0.666666666666667", 0.666666666666667)])
def test_share_accepts_0_to_1(value, expected):
    assert v.share(value, "share_yes") == pytest.approx(expected)


@pytest.mark.parametrize("value, reason", [
    ("1.5", "is not a number in [0, 1]"), ("-0.1", "is not a number in [0, 1]"),
    ("nan", "is not a number in [0, 1]"), ("inf", "is not a number in [0, 1]"),
    ("yes", "is not a number"),
])
def test_share_rejects_out_of_range(value, reason):
    with pytest.raises(v.BadValue) as exc:
        v.share(value, "share_yes")
    assert reason in str(exc.value)


def test_text_rules():
    assert v.text("  A dog runs .  ") == "A dog runs ."
    assert v.text("Собака бежит 🐕 \u200f") == "Собака бежит 🐕 \u200f"
    for value, reason in [("", "text is empty"), ("   ", "text is empty"),
                          ("x" * 2001, "text is too long (2001 characters; the limit is 2000)"),
                          ("a\x00b", "text contains control characters")]:
        with pytest.raises(v.BadValue) as exc:
            v.text(value)
        assert str(exc.value) == reason
