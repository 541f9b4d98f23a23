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
    """A repeated key silently keeps only its last text (a dict literal does not complain), and the
    same key in two area modules would let one area overwrite the other."""
    import ast

    seen: dict[str, str] = {}
    repeated = []
    for path in sorted((ROOT / "i18n").glob("*.py")):
        if path.name == "__init__.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        table = next(node.value for node in tree.body
                     if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "STRINGS")
        for k in table.keys:
            if k.value in seen:
                repeated.append(f"{k.value} ({seen[k.value]}, {path.name})")
            seen[k.value] = path.name
    assert len(seen) == len(STRINGS) > 1000
    assert repeated == []


def test_placeholders_are_the_same_in_both_languages():
    """`t(key, lang, n=3)` must fill the same fields in ja and en (else one language raises KeyError)."""
    import string

    fields = string.Formatter()
    differ = []
    for key, entry in STRINGS.items():
        ja = {f for _, f, _, _ in fields.parse(entry["ja"]) if f is not None}
        en = {f for _, f, _, _ in fields.parse(entry["en"]) if f is not None}
        if ja != en:
            differ.append((key, sorted(ja), sorted(en)))
    assert differ == []


def _strings_in_the_code() -> tuple[set[str], set[str]]:
    """Every string literal of the app's code, and the fixed beginnings of strings built at run time
    (f"audit.action.{kind}", "legend." + name)."""
    import ast

    literals: set[str] = set()
    beginnings: set[str] = set()
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT).parts
        if rel[0] in ("tests", "i18n", "bench") or rel[0].startswith("."):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                literals.add(node.value)
            elif isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
                beginnings.add(node.values[0].value)
            elif (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add)
                  and isinstance(node.left, ast.Constant) and isinstance(node.left.value, str)):
                beginnings.add(node.left.value)
    # a literal "dash.edit.op" handed to a helper that appends ".<value>"
    beginnings |= {x + "." for x in literals if "." in x and " " not in x and len(x) < 60}
    return literals, {b for b in beginnings if "." in b and len(b) >= 4}


def test_every_key_is_used():
    """A key nothing asks for is dead text that translators keep paying for."""
    literals, beginnings = _strings_in_the_code()
    scripts = " ".join(p.read_text(encoding="utf-8") for p in (ROOT / "assets").glob("*.js"))
    unused = [k for k in STRINGS
              if k not in literals and k not in scripts and not any(k.startswith(b) for b in beginnings)]
    assert unused == []
