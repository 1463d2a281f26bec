"""Every text a person reads comes from the catalogs, in Vietnamese and in English."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

from bot import formatting as fmt
from bot.i18n import _, use_locale
from storage.uow import Database
from tests.harness import BotHarness

ROOT = Path(__file__).resolve().parent.parent


def load_i18n_script():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("i18n_script", ROOT / "scripts" / "i18n.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_both_catalogs_hold_every_text_of_the_code() -> None:
    missing = load_i18n_script().missing()
    assert missing == {"vi": [], "en": []}


def test_no_message_id_is_built_at_run_time() -> None:
    offenders = []
    for path in (ROOT / "bot").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("_", "lazy_gettext", "gettext")
                and node.args
                and not isinstance(node.args[0], ast.Constant)
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_vietnamese_and_english_formats() -> None:
    import datetime as dt

    with use_locale("vi"):
        assert (
            fmt.kg(1500),
            fmt.price_per_kg(25_000).replace("\xa0", " "),
            fmt.date(dt.date(2026, 9, 15)),
        ) == ("1.500 kg", "25.000 ₫/kg", "15/09/2026")
        assert fmt.kg(2500.5) == "2.500,5 kg"
    with use_locale("en"):
        assert fmt.kg(1500) == "1,500 kg"
        assert _("Hủy") != "Hủy"


async def test_a_person_who_chose_english_is_answered_in_english(database: Database) -> None:
    bot = BotHarness(database)
    kim = bot.person("950")
    await bot.register(kim, role_label="Thương lái", name="Kim", phone="0912000950")
    await kim.says("/ngonngu")
    await kim.presses("English")
    assert "Language switched to English" in kim.last
    await kim.says("/menu")
    assert "What would you like to do" in kim.last or "menu" in kim.last.lower()
    assert "Bạn muốn làm gì" not in kim.last
