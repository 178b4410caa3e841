"""Rebuild data/sample/ from ../shared/data: a small, closed subset in the With Sense layout.

Closed: every expert/crowd pair's photo and the photo its query was written for are both in the
sample, and every sample train photo carries its five descriptions. Deterministic (fixed choices).
Run from the repo root: .venv/bin/python tests/tools/make_sample.py
"""
import csv
import random
import shutil
from pathlib import Path

SHARED = Path("../shared/data")
OUT = Path("data/sample")
N_QUERIES = 10        # train queries whose judged photos make up the train sample
N_TEST = 12


def read_rows(path, delimiter, header):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f, delimiter=delimiter))
    return (rows[0], rows[1:]) if header else (None, rows)


def write_rows(path, delimiter, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter=delimiter, lineterminator="\n")
        if header:
            w.writerow(header)
        w.writerows(rows)


def main():
    ws = SHARED / "with-sense"
    rng = random.Random(8)
    tr_head, train = read_rows(ws / "train_dataset.csv", ",", True)
    _, expert = read_rows(ws / "ExpertAnnotations.tsv", "\t", False)
    _, crowd = read_rows(ws / "CrowdAnnotations.tsv", "\t", False)
    d_head, desc = read_rows(SHARED / "photo-descriptions" / "photo_descriptions.tsv", "\t", True)
    q_head, test_q = read_rows(ws / "test_queries.csv", "|", True)

    queries = rng.sample(sorted({r[1] for r in train}), N_QUERIES)
    photos = {q.split("#")[0] for q in queries} | {r[0] for r in train if r[1] in queries}

    def closed(r):
        return r[0] in photos and r[1].split("#")[0] in photos

    test_photos = sorted({r[3] for r in test_q})[:N_TEST]
    if OUT.exists():
        shutil.rmtree(OUT)
    (OUT / "train_images").mkdir(parents=True)
    (OUT / "test_images").mkdir()
    for p in sorted(photos):
        shutil.copy(ws / "train_images" / p, OUT / "train_images" / p)
    for p in test_photos:
        shutil.copy(ws / "test_images" / p, OUT / "test_images" / p)
    write_rows(OUT / "train_dataset.csv", ",", tr_head, [r for r in train if closed(r)])
    write_rows(OUT / "ExpertAnnotations.tsv", "\t", None, [r for r in expert if closed(r)])
    write_rows(OUT / "CrowdAnnotations.tsv", "\t", None, [r for r in crowd if closed(r)])
    write_rows(OUT / "photo_descriptions.tsv", "\t", d_head, [r for r in desc if r[0] in photos])
    write_rows(OUT / "test_queries.csv", "|", q_head, [r for r in test_q if r[3] in test_photos])
    write_rows(OUT / "test_images.csv", ",", ["image"], [[p] for p in test_photos])
    print(f"{len(photos)} train photos, {len(test_photos)} test photos in {OUT}")


if __name__ == "__main__":
    main()
