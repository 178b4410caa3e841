import shutil
import struct
import zlib

import pytest

from jobs import ingest as ingest_job
from jobs.ingest import run_ingest
from ws_core.cli import main
from ws_core.errors import WsError
from ws_core.ingest.photos import MAX_PIXELS
from tests.conftest import table

# Facts of the shipped sample (tests/tools/make_sample.py builds it).
SAMPLE_COUNTS = {"photos": 74, "texts": 370, "expert_annotations": 74, "crowd_annotations": 273}
RAW_TABLES = ("photos", "texts", "expert_annotations", "crowd_annotations", "quarantine")


def counts(con):
    return {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in SAMPLE_COUNTS}


def snapshot(con):
    return {t: sorted(con.execute(f"select * from {t}").fetchall(), key=repr) for t in RAW_TABLES}


def test_sample_loads_every_row(con, sample):
    result = run_ingest(con, [sample])
    assert result.rejects == []
    assert counts(con) == SAMPLE_COUNTS
    assert table(con, "select count(*) filter (where is_train_query), count(*) filter (where "
                      "is_description), count(*) filter (where is_test_query) from texts") == [(25, 310, 60)]
    assert table(con, "select split, count(*) from photos group by split order by split") == [
        ("test", 12), ("train", 62)]
    assert table(con, "select job, status, rows_in, rows_out from job_runs") == [
        ("ingest", "ok", result.rows_in, sum(SAMPLE_COUNTS.values()))]


def test_second_ingest_changes_nothing(con, sample):
    run_ingest(con, [sample])
    before = snapshot(con)
    result = run_ingest(con, [sample])
    assert result.rows_out == 0
    assert snapshot(con) == before
    assert table(con, "select count(*), count(*) filter (where status = 'ok') from job_runs") == [(2, 2)]


def test_changed_file_updates_only_what_changed(con, sample):
    first = run_ingest(con, [sample])
    path = sample / "ExpertAnnotations.tsv"
    lines = path.read_text().splitlines()
    image, query, *_ = lines[0].split("\t")
    lines[0] = f"{image}\t{query}\t4\t4\t4"
    path.write_text("\n".join(lines) + "\n")
    second = run_ingest(con, [sample])
    assert second.rows_out == 1
    assert table(con, "select expert_1, expert_2, expert_3, job_run_id from expert_annotations "
                      "where image = ? and query_id = ?", [image, query]) == [(4, 4, 4, second.run_id)]
    assert table(con, "select count(*) from expert_annotations where job_run_id = ?",
                 [first.run_id]) == [(SAMPLE_COUNTS["expert_annotations"] - 1,)]


def test_replaced_photo_updates_its_row(con, sample):
    run_ingest(con, [sample])
    a, b = sorted((sample / "train_images").iterdir())[:2]
    shutil.copy(b, a)
    result = run_ingest(con, [sample])
    assert result.rows_out == 1
    (sha_a,), (sha_b,) = table(con, "select sha256 from photos where image in (?, ?) order by image",
                               [a.name, b.name])
    assert sha_a == sha_b


def test_another_folder_adds_rows_and_keeps_the_first(con, sample, tmp_path):
    run_ingest(con, [sample])
    before = snapshot(con)
    extra = tmp_path / "extra"
    (extra / "train_images").mkdir(parents=True)
    test_photos = sorted((sample / "test_images").iterdir())[:2]
    lines = ["image\tdescription_id\tdescription"]
    for i, p in enumerate(test_photos):
        name = f"extra_{i}.jpg"
        shutil.copy(p, extra / "train_images" / name)
        lines += [f"{name}\t{name}#{k}\tA described photo number {k} ." for k in range(5)]
    (extra / "photo_descriptions.tsv").write_text("\n".join(lines) + "\n")
    run_ingest(con, [extra])
    after = snapshot(con)
    assert counts(con) == {**SAMPLE_COUNTS, "photos": 76, "texts": 380}
    for t in RAW_TABLES:
        assert set(before[t]) <= set(after[t])
    assert table(con, "select dataset, count(*) from photos group by 1 order by 1") == [
        ("extra", 2), ("sample", 74)]


def test_a_photo_folder_without_descriptions_loads_with_a_warning(runner, con, sample, tmp_path):
    con.close()
    bare = tmp_path / "bare"
    (bare / "train_images").mkdir(parents=True)
    for p in sorted((sample / "train_images").iterdir())[:3]:
        shutil.copy(p, bare / "train_images" / f"bare_{p.name}")
    out = runner.invoke(main, ["ingest", "--data", str(bare)])
    assert out.exit_code == 0, out.output
    assert out.stderr == (f"warning: {bare} has photos but no photo_descriptions.tsv: its photos load without "
                          "descriptions, so they teach nothing until one is ingested\n")
    assert "now stored: 3 photos, 0 texts" in out.stdout


def test_corrupted_sample_quarantines_each_fault_once(runner, sample, ws_db):
    from ws_core.cli import main
    photos = sample / "train_images"
    good = sorted(photos.iterdir())[0]
    (photos / "truncated.jpg").write_bytes(good.read_bytes()[:3000])
    (photos / "empty.jpg").write_bytes(b"")
    (photos / "notes.jpg").write_text("this is not a photo\n")
    image = good.name
    query = f"{sorted(photos.iterdir())[-1].name}#4"
    with open(sample / "ExpertAnnotations.tsv", "a") as f:
        f.write(f"{image}\t{query}\t7\t1\t1\n")
        f.write(f"../../etc/passwd\t{query}\t1\t1\t1\n")
    with open(sample / "CrowdAnnotations.tsv", "a") as f:
        f.write(f"{image}\t{query}\t1.5\t3\t0\n")
        f.write(f"{image}\t{image}#0\t1\t3\n")
    with open(sample / "photo_descriptions.tsv", "ab") as f:
        f.write(f"{image}\t{image}#9\tA caf".encode() + b"\xe9 terrace .\n")

    result = runner.invoke(main, ["ingest", "--data", str(sample)])

    assert result.exit_code == 0, result.output
    assert "warning: 8 rows quarantined" in result.stderr
    from ws_core import db as wsdb
    con = wsdb.connect_read_only(ws_db)
    try:
        assert counts(con) == SAMPLE_COUNTS
        rows = table(con, "select source, line_no, reason from quarantine order by source, line_no, reason")
    finally:
        con.close()
    assert rows == [
        ("sample/CrowdAnnotations.tsv", 274, "share_yes '1.5' is not a number in [0, 1]"),
        ("sample/CrowdAnnotations.tsv", 275,
         "wrong number of fields (expected 5 separated by TAB, found 4)"),
        ("sample/ExpertAnnotations.tsv", 75, "expert_1 score '7' is not an integer 1..4"),
        ("sample/ExpertAnnotations.tsv", 76, "photo name '../../etc/passwd' contains a path separator"),
        ("sample/photo_descriptions.tsv", 312,
         "line is not valid UTF-8 (byte 0xe9 at position 57); save the file as UTF-8"),
        ("sample/train_images", None, "cannot decode the image (image file is truncated (22 bytes not processed))"),
        ("sample/train_images", None, "empty file (0 bytes)"),
        ("sample/train_images", None, "not an image file (cannot identify the format)"),
    ]


def test_annotation_for_an_unknown_photo_is_quarantined(con, sample):
    with open(sample / "ExpertAnnotations.tsv", "a") as f:
        f.write("999_missing.jpg\t999_missing.jpg#0\t1\t1\t1\n")
    result = run_ingest(con, [sample])
    assert [(r.line_no, r.reason) for r in result.rejects] == [
        (75, "photo '999_missing.jpg' is not in the photo folders nor loaded before")]


def test_hostile_photo_files(con, sample, tmp_path):
    from PIL import Image
    photos = sample / "train_images"
    outside = tmp_path / "secret.jpg"
    shutil.copy(next(photos.iterdir()), outside)
    (photos / "link.jpg").symlink_to(outside)
    Image.new("1", (8000, 6000)).save(photos / "large.png")   # 48 MP, a few kB on disk: a camera frame
    bomb = photos / "bomb.png"                                # a header saying 15000 x 14000 (210 MP)
    Image.new("1", (64, 64)).save(bomb, format="PNG")
    data = bytearray(bomb.read_bytes())
    data[16:24] = struct.pack(">II", 15000, 14000)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    bomb.write_bytes(bytes(data))
    png = photos / "png_named.jpg"
    Image.new("RGB", (32, 24), "red").save(png, format="PNG")
    result = run_ingest(con, [sample])
    assert sorted((r.raw, r.reason) for r in result.rejects) == [
        ("bomb.png", f"image is too large (15000x14000 pixels; the limit is {MAX_PIXELS // 10**6} "
                     "megapixels)"),
        ("link.jpg", "symbolic link pointing outside the data folder"),
    ]
    assert MAX_PIXELS == 200_000_000
    assert table(con, "select format, width, height from photos where image in ('png_named.jpg', 'large.png') "
                      "order by image") == [("PNG", 8000, 6000), ("PNG", 32, 24)]


def test_conflicting_text_between_sources_keeps_the_first(con, sample):
    path = sample / "photo_descriptions.tsv"
    lines = path.read_text().splitlines()
    train_query_id = (sample / "train_dataset.csv").read_text().splitlines()[1].split(",")[1]
    idx = next(i for i, line in enumerate(lines) if line.split("\t")[1] == train_query_id)
    image, tid, _ = lines[idx].split("\t")
    lines[idx] = f"{image}\t{tid}\tA different text ."
    path.write_text("\n".join(lines) + "\n")
    result = run_ingest(con, [sample])
    assert [(r.line_no, r.reason) for r in result.rejects] == [
        (idx + 1, "text differs from an earlier one with the same id (sample/train_dataset.csv "
                  "line 2); the first is kept")]
    # the text keeps both roles' first version, and the description role is not lost
    assert table(con, "select is_train_query, is_description from texts where text_id = ?",
                 [tid]) == [(True, False)]


def test_failure_mid_job_leaves_the_previous_state(con, sample, monkeypatch):
    run_ingest(con, [sample])
    before = snapshot(con)
    (sample / "ExpertAnnotations.tsv").write_text("")
    shutil.rmtree(sample / "test_images")

    def boom(*args):
        raise RuntimeError("disk full")
    monkeypatch.setattr(ingest_job, "_record_reads", boom)
    with open(sample / "CrowdAnnotations.tsv", "a") as f:
        f.write("bad line\n")
    with pytest.raises(RuntimeError):
        run_ingest(con, [sample])
    assert snapshot(con) == before
    assert table(con, "select status, message from job_runs order by started_at desc limit 1") == [
        ("failed", "RuntimeError: disk full")]


def test_killed_run_is_marked_interrupted_by_the_next(con, sample):
    con.execute("insert into job_runs (run_id, job, started_at, status) "
                "values ('old', 'ingest', now(), 'running')")
    run_ingest(con, [sample])
    assert table(con, "select status from job_runs where run_id = 'old'") == [("interrupted",)]


def test_missing_folder_and_empty_folder_are_clear_errors(con, tmp_path):
    with pytest.raises(WsError, match=r"Data folder .*nope does not exist or is not a folder\."):
        run_ingest(con, [tmp_path / "nope"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(WsError, match=r"Nothing to ingest in .*empty: expected any of train_dataset.csv"):
        run_ingest(con, [tmp_path / "empty"])
    assert table(con, "select count(*) from job_runs") == [(0,)]


def test_folder_with_only_test_files_is_valid(con, sample):
    for name in ("train_dataset.csv", "ExpertAnnotations.tsv", "CrowdAnnotations.tsv",
                 "photo_descriptions.tsv"):
        (sample / name).unlink()
    shutil.rmtree(sample / "train_images")
    result = run_ingest(con, [sample])
    assert result.rejects == []
    assert counts(con) == {"photos": 12, "texts": 60, "expert_annotations": 0, "crowd_annotations": 0}


@pytest.mark.parametrize("progressive", [False, True])
def test_a_jpeg_checked_at_reduced_scale_gets_the_verdict_of_a_full_decode(sample, progressive, monkeypatch):
    """Ingest decodes a JPEG at 1/8 scale (the codec still entropy-decodes every block): on damaged
    copies of a sample photo it refuses exactly what a full decode refuses, and stores the file's size."""
    import io
    import random

    from PIL import Image
    from PIL.JpegImagePlugin import JpegImageFile

    from ws_core.ingest.photos import check_decodes
    from ws_core.ingest.validate import BadValue

    def full_decode_fails(data: bytes) -> bool:
        try:
            with Image.open(io.BytesIO(data)) as im:
                im.load()
            return False
        except (OSError, SyntaxError, ValueError):
            return True

    def check_fails(data: bytes) -> bool:
        try:
            check_decodes(data)
            return False
        except BadValue:
            return True

    buf = io.BytesIO()
    with Image.open(next((sample / "train_images").glob("1*.jpg"))) as im:
        im.convert("RGB").resize((1600, 1200)).save(buf, "JPEG", quality=90, progressive=progressive)
    src = buf.getvalue()
    decoded = []
    real_load = JpegImageFile.load
    monkeypatch.setattr(JpegImageFile, "load", lambda im: (decoded.append(im.size), real_load(im))[1])
    assert check_decodes(src) == {"width": 1600, "height": 1200, "format": "JPEG"}
    assert decoded == [(200, 150)]             # the pixels decoded: an eighth of each side
    start = src.index(b"\xff\xda") + 20          # past the first scan's header: the coded blocks
    rng = random.Random(0)
    verdicts = []
    for _ in range(120):
        data, at = bytearray(src), rng.randrange(start, len(src) - 2)
        kind = rng.choice(["truncate", "flip", "zeros", "noise"])
        if kind == "truncate":
            del data[at:]
        elif kind == "flip":
            data[at] ^= 1 << rng.randrange(8)
        else:
            n = min(32, len(data) - at)
            data[at:at + n] = bytes(n) if kind == "zeros" else bytes(rng.randrange(256) for _ in range(n))
        verdicts.append((full_decode_fails(bytes(data)), check_fails(bytes(data))))
    assert all(full == check for full, check in verdicts)
    assert sum(full for full, _ in verdicts) >= 20            # the damage was often fatal
