"""Words that fit the messenger: "bấm" where there are buttons, numbers where options are lines."""

from __future__ import annotations

from bot.channels.numbered import options_lines
from bot.channels.registry import CONSOLE, TELEGRAM, ZALO
from bot.engine import wording
from bot.events import Choice, Reply, Request
from storage.uow import Database
from tests.harness import BotHarness


async def test_a_sticker_is_answered_with_what_each_messenger_can_send(database: Database) -> None:
    bot = BotHarness(database)
    await (tg := bot.person("777", channel="telegram")).sends_sticker()
    await (zl := bot.person("zl-lan", channel="zalo")).sends_sticker()
    assert "nút bấm, số điện thoại và vị trí" in tg.last
    assert "nút" not in zl.last and "chỉ đọc được tin nhắn chữ" in zl.last
    assert "số của mục bạn chọn" in zl.last


def test_no_button_is_mentioned_where_there_are_none() -> None:
    for caps in (ZALO, CONSOLE):
        for text in (
            wording.only_reads(caps),
            wording.option_gone(caps),
            wording.confirm_edit_or_cancel(caps),
        ):
            assert "bấm" not in text.lower() and "nút" not in text.lower(), text
    assert wording.confirm_edit_or_cancel(TELEGRAM) == "Vui lòng bấm Xác nhận, Sửa hoặc Hủy."
    assert wording.option_gone(ZALO) == "Mục này không còn dùng được."


def test_a_share_request_lists_its_other_options_by_the_numbers_typed_back() -> None:
    reply = Reply(
        "Vị trí của điểm tập kết?",
        (Choice("📍 Gửi vị trí", ""), Choice("Bỏ qua", "skip-payload")),
        request=Request.LOCATION,
    )
    assert options_lines(reply) == ["(Gõ địa chỉ, hoặc bỏ qua)", "1. Bỏ qua", "Trả lời 1 hoặc gõ tên mục."]
    assert [label for label, _payload, _syn in reply.menu()] == ["Bỏ qua"]  # "1" means the same option
