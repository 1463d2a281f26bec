"""Gettext catalogs: extract texts from the code, update locales/, compile .mo files, check completeness.

python scripts/i18n.py extract   # locales/messages.pot from bot/
python scripts/i18n.py update    # merge the template into vi and en (vi copies the Vietnamese ids)
python scripts/i18n.py compile   # .po -> .mo (both set-up commands run this)
python scripts/i18n.py check     # fail if a text in the code is missing from a catalog or untranslated
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "locales"
POT = LOCALES / "messages.pot"
KEYWORDS = {"_": None, "gettext": None, "lazy_gettext": None, "ngettext": (1, 2)}
LANGS = ("vi", "en")


def po_path(lang: str) -> Path:
    return LOCALES / lang / "LC_MESSAGES" / "messages.po"


def extract() -> Catalog:
    template = Catalog(project="nongsan-bot", version="0.1", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT / "bot"), method_map=[("**.py", "python")], keywords=KEYWORDS, strip_comment_tags=True
    ):
        template.add(message, None, [(f"bot/{filename}", lineno)], auto_comments=comments, context=context)
    return template


def load(lang: str) -> Catalog:
    path = po_path(lang)
    if path.exists():
        with path.open("rb") as fh:
            return read_po(fh, locale=lang)
    return Catalog(locale=lang, project="nongsan-bot", charset="utf-8")


def save(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        write_po(fh, catalog, width=100, sort_output=False, omit_header=False)


def cmd_extract() -> int:
    save(extract(), POT)
    print(f"wrote {POT.relative_to(ROOT)}")
    return 0


def cmd_update() -> int:
    template = extract()
    save(template, POT)
    for lang in LANGS:
        catalog = load(lang)
        # A fresh template each time: Catalog.update shares message objects with its template.
        catalog.update(extract(), no_fuzzy_matching=True)
        for message in catalog:
            if not message.id:
                continue
            if lang == "vi" and not message.string:
                # Message ids are the Vietnamese texts: the vi catalog starts as a copy an editor may refine.
                message.string = message.id
            message.flags.discard("fuzzy")
        catalog.obsolete.clear()
        save(catalog, po_path(lang))
        print(f"updated {po_path(lang).relative_to(ROOT)}")
    return 0


def cmd_compile() -> int:
    for lang in LANGS:
        catalog = load(lang)
        mo = po_path(lang).with_suffix(".mo")
        with mo.open("wb") as fh:
            write_mo(fh, catalog, use_fuzzy=False)
    print("compiled " + ", ".join(LANGS))
    return 0


def missing() -> dict[str, list[str]]:
    """Per language, the texts in the code that its catalog lacks or leaves untranslated."""
    ids = {m.id for m in extract() if m.id}
    report = {}
    for lang in LANGS:
        catalog = load(lang)
        have = {m.id: m.string for m in catalog if m.id}
        report[lang] = sorted(str(i) for i in ids if not have.get(i))
    return report


def cmd_check() -> int:
    report = missing()
    bad = {lang: ids for lang, ids in report.items() if ids}
    for lang, ids in bad.items():
        print(f"{lang}: {len(ids)} texts missing or untranslated, e.g. {ids[:3]}")
    return 1 if bad else 0


def main(argv: list[str]) -> int:
    commands = {"extract": cmd_extract, "update": cmd_update, "compile": cmd_compile, "check": cmd_check}
    if len(argv) != 1 or argv[0] not in commands:
        print(__doc__)
        return 2
    return commands[argv[0]]()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
