import re
from pathlib import Path

from i18n import STRINGS, lang_from_accept, normalize_lang, t

ROOT = Path(__file__).resolve().parents[1]


def test_every_string_has_japanese_and_english():
    for key, entry in STRINGS.items():
        assert entry.get("ja", "").strip(), key
        assert entry.get("en", "").strip(), key


def test_every_key_used_in_the_code_exists():
    pattern = re.compile(r"""\bt\(\s*["']([a-z_][a-z0-9_.]*)["']""")
    used = set()
    for folder in ["app.py", "pages", "components", "layers", "api", "sources", "alerts"]:
        for path in (ROOT / folder).rglob("*.py") if (ROOT / folder).is_dir() else [ROOT / folder]:
            used |= set(pattern.findall(path.read_text(encoding="utf-8")))
    # keys built at run time
    used -= {k for k in used if k.endswith(".")}
    missing = sorted(k for k in used if k not in STRINGS)
    assert not missing, missing


def test_fallbacks():
    assert t("lang.switch", "en") == "日本語"
    assert t("lang.switch", "fr") == "English"  # unknown languages fall back to Japanese
    assert t("no.such.key", "ja") == "no.such.key"
    assert normalize_lang("EN-us") == "en"
    assert lang_from_accept("fr-FR,en;q=0.8") == "en"
    assert lang_from_accept(None) == "ja"


def test_no_key_is_defined_twice():
    """A repeated key silently keeps only its last text (a dict literal does not complain)."""
    import ast

    tree = ast.parse((ROOT / "i18n.py").read_text(encoding="utf-8"))
    table = next(node.value for node in tree.body
                 if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "STRINGS")
    keys = [k.value for k in table.keys]
    assert len(keys) > 100
    assert sorted({k for k in keys if keys.count(k) > 1}) == []
