"""The With Sense input files: name, layout and row validation of each (see ../shared/data/README.md)."""
from . import validate as v
from .readers import FileSpec


def _train_query(f: list[str]) -> dict:
    image = v.photo_name(f[0])
    query_id, written_for = v.text_id(f[1], "query_id")
    return {"image": image, "text_id": query_id, "written_for": written_for,
            "text": v.text(f[2], "query_text")}


def _expert(f: list[str]) -> dict:
    image = v.photo_name(f[0])
    query_id, _ = v.text_id(f[1], "query_id")
    scores = {f"expert_{i}": v.expert_score(f[1 + i], f"expert_{i}") for i in (1, 2, 3)}
    return {"image": image, "query_id": query_id, **scores}


# share_yes is printed to 15 digits ("0.666666666666667"); allow that rounding and no more
_SHARE_TOLERANCE = 1e-6


def _crowd(f: list[str]) -> dict:
    image = v.photo_name(f[0])
    query_id, _ = v.text_id(f[1], "query_id")
    share = v.share(f[2], "share_yes")
    n_yes, n_no = v.count(f[3], "n_yes"), v.count(f[4], "n_no")
    if n_yes + n_no == 0:
        raise v.BadValue("no votes: n_yes + n_no is 0")
    if abs(share - n_yes / (n_yes + n_no)) > _SHARE_TOLERANCE:
        raise v.BadValue(f"share_yes '{f[2].strip()}' does not match n_yes / (n_yes + n_no) "
                         f"({n_yes}/{n_yes + n_no})")
    return {"image": image, "query_id": query_id, "share_yes": share, "n_yes": n_yes, "n_no": n_no}


def _test_query(f: list[str]) -> dict:
    query_id, written_for = v.text_id(f[1], "query_id")
    image = v.photo_name(f[3])
    if image != written_for:
        raise v.BadValue(f"image {image!r} is not the photo of query_id {query_id!r}")
    return {"text_id": query_id, "written_for": written_for, "text": v.text(f[2], "query_text")}


def _test_image(f: list[str]) -> dict:
    return {"image": v.photo_name(f[0])}


def _description(f: list[str]) -> dict:
    image = v.photo_name(f[0])
    desc_id, written_for = v.text_id(f[1], "description_id")
    if image != written_for:
        raise v.BadValue(f"image {image!r} is not the photo of description_id {desc_id!r}")
    return {"text_id": desc_id, "written_for": written_for, "text": v.text(f[2], "description")}


TRAIN_QUERIES = FileSpec("train_queries", "train_dataset.csv", ",", 3,
                         ("image", "query_id", "query_text"), _train_query, ("image", "text_id"))
EXPERT = FileSpec("expert", "ExpertAnnotations.tsv", "\t", 5, None, _expert, ("image", "query_id"))
CROWD = FileSpec("crowd", "CrowdAnnotations.tsv", "\t", 5, None, _crowd, ("image", "query_id"))
TEST_QUERIES = FileSpec("test_queries", "test_queries.csv", "|", 4,
                        ("", "query_id", "query_text", "image"), _test_query, ("text_id",))
TEST_IMAGES = FileSpec("test_images", "test_images.csv", ",", 1, ("image",), _test_image, ("image",))
DESCRIPTIONS = FileSpec("descriptions", "photo_descriptions.tsv", "\t", 3,
                        ("image", "description_id", "description"), _description, ("text_id",))

# Read in this order: the first source of a text id wins when two disagree.
DATA_FILES = (TRAIN_QUERIES, EXPERT, CROWD, TEST_QUERIES, TEST_IMAGES)
