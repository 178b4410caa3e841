"""The children rule: which texts ask for children (query.py: words; meaning.py: the classifier beside
them, QueryCheck for queries), which photos show them (flags written by jobs/policy.py), who may see what (consents, jurisdictions) and what users are told instead."""
import secrets
import unicodedata

from ..errors import WsError
from ..jobrun import utc_now
from .query import Decision, Vocabulary, check

__all__ = ["Decision", "Vocabulary", "check", "QueryCheck", "term_problem", "load_vocabulary", "rule_applies", "hidden_photos",
           "disclaimer", "add_consent", "revoke_consent", "set_region"]


def __getattr__(name):
    # QueryCheck (meaning.py) needs numpy: loaded on first use, so the command line starts without it
    if name == "QueryCheck":
        from .meaning import QueryCheck
        return QueryCheck
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


REASON_QUERY = "the query asks for photos of children"
REASON_PHOTO = "the photo may show a child and has no parent's consent"


def load_vocabulary(con) -> Vocabulary:
    return Vocabulary.from_rows(con.execute(
        "select term, lang, match, decision from policy_terms order by lang, term").fetchall())


_SCRIPTS = {"en": "LATIN", "ru": "CYRILLIC"}


def term_problem(term: str, lang: str) -> str | None:
    """Why a vocabulary term cannot be stored, or None. Terms are plain words matched whole after
    normalisation: a wildcard or pattern would match nothing (or, taken literally, mislead the
    analyst who wrote it), and a word in the other language's script would shadow that language."""
    words = term.split()
    if not words:
        return "the term is empty"
    bad = sorted({c for c in "".join(words) if not (c.isalnum() or c in "-'’")})
    if bad:
        return (f"{term.strip()!r} has {' '.join(bad)}: terms are plain words matched whole (no wildcards "
                "or patterns); add each form you mean, or --prefix for a stem")
    script = _SCRIPTS[lang]
    letters = [c for c in "".join(words) if c.isalpha()]
    if not letters:
        return f"{term.strip()!r} has no letters"
    foreign = sorted({c for c in letters if not unicodedata.name(c, "").startswith(script)})
    if foreign:
        other = "ru" if lang == "en" else "en"
        return (f"{term.strip()!r} has letters that are not {script.title()} ({''.join(foreign)}) but --lang "
                f"is {lang}; pass --lang {other} if it is a {other} word")
    return None


def region_listed(con, region: str) -> bool:
    return con.execute("select 1 from jurisdictions where region = ?", [region]).fetchone() is not None


def rule_applies(con, region: str | None) -> bool:
    """A region not listed follows 'default'; with no region, 'default' decides."""
    rules = dict(con.execute("select region, children_rule from jurisdictions").fetchall())
    return bool(rules.get(region or "default", rules.get("default", True)))


def hidden_photos(con, region: str | None = None) -> dict[str, str]:
    """image -> why it may not be shown: flagged by any source, no consent valid for this region."""
    if not rule_applies(con, region):
        return {}
    rows = con.execute(
        "select distinct f.image from ("
        "  select entity_id as image from policy_flags where entity_kind = 'photo' and flag = 'child') f "
        "where not exists (select 1 from consents c where c.image = f.image and c.revoked_at is null "
        "                  and (c.scope = 'all' or c.scope = ?))",
        [region or "default"]).fetchall()
    return {image: REASON_PHOTO for (image,) in rows}


def pixel_model(con, image_encoder: str) -> dict | None:
    """The newest policy run's pixel classifier for this encoder's vectors, as plain numbers, with its
    neighbours' vectors read back by name (a neighbour no longer stored is left out)."""
    keys = ["feature_mean", "feature_scale", "coef", "intercept", "threshold", "knn_weight", "knn_k",
            "knn_temperature", "knn_images", "knn_labels"]
    row = con.execute(f"select {', '.join('m.' + k for k in keys)} "
                      "from policy_pixel_models m join policy_runs r using (job_run_id) "
                      "where m.image_encoder = ? order by r.finished_at desc limit 1", [image_encoder]).fetchone()
    if row is None:
        return None
    model = dict(zip(keys, row))
    if model["knn_weight"]:
        import numpy as np

        from .pixels import unit_rows
        got = con.execute("select image, vector from image_embeddings where encoder = ? and image in "
                          "(select unnest(?::varchar[]))", [image_encoder, model["knn_images"]]).fetchnumpy()
        stored = dict(zip((str(im) for im in got["image"]), got["vector"]))     # column-wise: no Python floats
        keep = [i for i, im in enumerate(model["knn_images"]) if im in stored]
        vectors = np.stack([stored[model["knn_images"][i]] for i in keep]).astype(np.float32)
        model["knn_images"] = [model["knn_images"][i] for i in keep]
        model["knn_labels"] = [model["knn_labels"][i] for i in keep]
        model["knn_bank"] = unit_rows((vectors - np.asarray(model["feature_mean"]))
                                      / np.asarray(model["feature_scale"]))
    return model


def pixel_probability(model: dict, features, images: list[str] | None = None):
    from .pixels import probability
    return probability(model, features, images)


def query_lang(text: str, lang: str | None = None) -> str:
    """The disclaimer's language for a query: the one asked for, else Russian for a query with
    Cyrillic letters, else English."""
    if lang:
        return lang
    return "ru" if any(ch.isalpha() and "CYRILLIC" in unicodedata.name(ch, "") for ch in text) else "en"


def _disclaimer_table(photo: bool) -> str:
    """The query disclaimers, or those for a photo held back (`ws rate`): a name from here, never a user."""
    return "photo_disclaimers" if photo else "disclaimers"


def load_disclaimers(con, photo: bool = False) -> dict[str, str]:
    """Every disclaimer by language, read once for many queries (a missing language shows English,
    as disclaimer() does); pick one with query_lang()."""
    stored = dict(con.execute(f"select lang, text from {_disclaimer_table(photo)}").fetchall())
    return {code: stored.get(code, stored.get("en")) for code in ("en", "ru")}


def set_disclaimer(con, lang: str, text: str, photo: bool = False) -> None:
    con.execute(f"insert or replace into {_disclaimer_table(photo)} (lang, text) values (?, ?)", [lang, text])


def disclaimer(con, lang: str = "en", photo: bool = False) -> str:
    table = _disclaimer_table(photo)
    row = con.execute(f"select text from {table} where lang = ?", [lang]).fetchone()
    if row is None:
        row = con.execute(f"select text from {table} where lang = 'en'").fetchone()
    return row[0]


def add_consent(con, image: str, granted_by: str, scope: str = "all", note: str | None = None) -> str:
    if not granted_by.strip():
        raise WsError("Say who granted the consent (--by): a parent's or guardian's name.")
    if con.execute("select 1 from photos where image = ?", [image]).fetchone() is None:
        raise WsError(f"No photo named {image!r} in the database.")
    consent_id = f"c-{secrets.token_hex(4)}"
    con.execute("insert into consents (consent_id, image, granted_by, granted_at, scope, note, revoked_at) "
                "values (?, ?, ?, ?, ?, ?, null)", [consent_id, image, granted_by.strip(), utc_now(), scope, note])
    return consent_id


def revoke_consent(con, key: str) -> int:
    """Revoke a consent by its id, or every valid consent of a photo by the photo's name."""
    n = con.execute(
        "update consents set revoked_at = ? where revoked_at is null and (consent_id = ? or image = ?) "
        "returning consent_id", [utc_now(), key, key]).fetchall()
    if not n:
        raise WsError(f"No valid consent with id or photo {key!r}.")
    return len(n)


def set_region(con, region: str, applies: bool, note: str | None = None) -> None:
    con.execute("insert or replace into jurisdictions (region, children_rule, note) values (?, ?, ?)",
                [region, applies, note])
