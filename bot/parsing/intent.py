"""What the person wants: to sell (offer), to buy (order), to know a price, or nothing we handle."""

from __future__ import annotations

import re
from enum import StrEnum
from functools import cache

from bot.parsing.message import Message, PhraseIndex


class Intent(StrEnum):
    """The four intents of the parse contract."""

    OFFER = "offer"
    ORDER = "order"
    PRICE_QUERY = "price_query"
    UNKNOWN = "unknown"


# (spellings, intent or None for "neutral, just consume", strong?)
_PHRASES: tuple[tuple[tuple[str, ...], Intent | None, bool], ...] = (
    (
        (
            "bán",
            "cần bán",
            "muốn bán",
            "xin bán",
            "đang bán",
            "bán gấp",
            "cần tiêu thụ",
            "tiêu thụ",
            "thanh lý",
            "xả hàng",
            "xả",
            "ai mua",
            "ai lấy",
            "ai cần",
            "ai cần mua",
            "ai muốn mua",
            "ai thu mua",
            "ai gom",
            "có ai mua",
            "báo thu hoạch",
            "thu hoạch",
            "đang thu",
            "đang hái",
            "ra hàng",
            "nhận đặt",
            "nhận đặt hàng",
            "cung cấp",
            "chuyên cung cấp",
            "cần đầu ra",
            "tìm đầu ra",
            "tìm người mua",
            "cần người mua",
            "cần thương lái",
            "tìm thương lái",
            # A seller looking for buyers or taking orders ("a/c nào cần ib em", "inbox để đặt hàng").
            "có ai cần",
            "ai có nhu cầu",
            "ac nào cần",
            "ae nào cần",
            "anh chị nào cần",
            "bác nào cần",
            "mn nào cần",
            "ae cần",
            "ac cần",
            "để mua",
            "để đặt hàng",
            "để đặt",
            "ib đặt hàng",
            "inbox đặt hàng",
            "liên hệ đặt hàng",
            "nhận ship",
            "ship cod",
            "ship toàn quốc",
            "ship tận nơi",
            "giao tận nơi",
            "nhận đơn",
        ),
        Intent.OFFER,
        True,
    ),
    (
        (
            "mua",
            "cần mua",
            "muốn mua",
            "thu mua",
            "gom",
            "gom hàng",
            "thu gom",
            "đặt",
            "đặt hàng",
            "cần đặt",
            "cần lấy",
            "cần tìm",
            "nào có",
            "ai cần bán",
            "ai muốn bán",
            "có ai bán",
            "tìm nguồn",
            "tìm mua",
            "cần nguồn",
            "ai bán",
            "ai có",
            "ai còn",
            "nhận thu mua",
            "bao tiêu",
            "cần nhập",
            "nhập",
            "cần gom",
            "cần thu",
            "cty cần",
            "công ty cần",
            "kho cần",
            "bên em cần",
            "bên mình cần",
            "đang cần",
        ),
        Intent.ORDER,
        True,
    ),
    (
        (
            "có",
            "nhà có",
            "em có",
            "đang có",
            "còn",
            "thu",
            "hái",
            "cắt",
            "chín",
            "có sẵn",
            "sẵn hàng",
            "sẵn",
            "ship được",
            "ship dc",
            "ship đc",
            "hàng nhà vườn",
            "hàng vườn nhà",
            "tại vườn",
        ),
        Intent.OFFER,
        False,
    ),
    (("cần", "nhận", "cần gấp"), Intent.ORDER, False),
    # Everyday phrases that contain a trade word but are not one ("bạn ơi", "mua bán", "có không").
    (
        (
            "bạn ơi",
            "ban oi",
            "các bạn",
            "mua bán",
            "có không",
            "có ko",
            "có k",
            "có j",
            "có gì",
            "thứ",
            "nhận được",
            "hỏi",
            "có ai",
            "ai biết",
            "có thể",
            "có được",
            "cảm ơn",
            "cám ơn",
            "cảm ơn bạn",
            "cám ơn bạn",
            "cam on ban",
            "chào bạn",
            "chào các bạn",
            "xin chào",
            "xâm nhập",
            "nhập mặn",
            "đăng ký bán hàng",
        ),
        None,
        True,
    ),
)
# Posts that name a trade word or a product but are about something else: what is sold is an input,
# a job, a loan, land or a ride ("topic", when it is the head or the object of the verb), or the post
# is a complaint, a warning, the weather or a growing problem ("trouble", anywhere).
_TOPIC = (
    "phân bón", "phân", "phân hữu cơ", "phân bón lá", "thuốc trừ sâu", "thuốc bvtv", "thuốc", "cây giống",
    "giống", "máy", "vật tư", "túi bọc", "bạt", "đất", "đất vườn", "sổ đỏ", "vay vốn", "cho vay", "vay tiền",
    "vốn", "lãi suất", "tuyển", "tuyển dụng", "cần người", "tuyển người", "thuê người", "thuê", "hái thuê", "lao động", "lương",
    "việc làm", "chở", "chở hàng", "vận chuyển", "xe tải", "cước", "nhận chở", "xổ số", "lô đề", "bảo hiểm",
    "vé số", "sang nhượng", "khóa học", "kiếm tiền", "máy cày", "máy xới", "máy phun", "drone", "chành xe",
    "nhận vận chuyển", "giúp việc", "cho thuê",
)  # fmt: skip
_TROUBLE = (
    "ép giá", "cảnh báo", "lừa đảo", "lừa", "quỵt", "bỏ cọc", "cẩn thận", "mất trắng", "mất mùa", "thua lỗ",
    "không ai mua", "ko ai mua", "chẳng ai mua", "mưa đá", "bão", "lũ", "ngập", "hạn hán", "nhiễm mặn",
    "xâm nhập mặn", "sâu bệnh", "bệnh", "vàng lá", "thối", "rụng", "chết", "sạt lở", "xử lý", "thán thư",
    "tấn công", "kỹ thuật", "chúc", "chúc mừng", "bội thu", "mưa", "mưa lớn", "nắng hạn", "rét", "sương muối",
    "dịch bệnh", "cách chăm sóc", "bón phân", "phun thuốc", "nứt quả", "xin kinh nghiệm", "tư vấn", "bị lừa",
    "bom hàng", "không trả tiền", "nợ tiền", "bùng tiền",
)  # fmt: skip
# The word right before a topic word that makes it the thing traded ("bán phân bón", "cung cấp máy").
_TOPIC_VERBS = frozenset(
    {"ban", "mua", "can", "nhan", "chuyen", "cap", "cho", "tuyen", "tro", "si", "le", "thue"}
)
_PRICE_WORDS = ("giá", "bảng giá", "giá cả", "báo giá", "hỏi giá", "xin giá", "check giá", "giá thị trường")
_QUESTION = ("bao nhiêu", "bao nhiu", "bn", "bnhieu", "bnh", "nhiêu", "mấy", "thế nào", "ntn", "sao", "sao rồi",
             "nhiu", "bao nhieu", "nhiêu tiền", "bnhiu")  # fmt: skip
# Sentence-final particles that make a question only when no price figure is given.
_SOFT_QUESTION = ("à", "hả", "vậy", "thế", "ạ", "không", "ko", "k", "hok", "hem", "nào", "nhỉ", "đâu")
_PER_ITEM = re.compile(r"\d\s*(?:k|nghin|ngan|d|dong)?\s*/\s*(?:qua|trai)(?![a-z])")
_ASKING = ("hỏi giá", "xin giá", "báo giá", "check giá", "cho hỏi giá", "bảng giá")


@cache
def _indexes() -> tuple[PhraseIndex[tuple[Intent | None, bool]], PhraseIndex[str]]:
    trade: PhraseIndex[tuple[Intent | None, bool]] = PhraseIndex()
    # Neutral phrases go in first so that "bạn ơi" is never split into "bán" + "ơi".
    for spellings, intent, strong in sorted(_PHRASES, key=lambda p: p[1] is not None):
        trade.add_all(spellings, (intent, strong))
    words: PhraseIndex[str] = PhraseIndex()
    words.add_all(_ASKING, "asking")
    words.add_all(_PRICE_WORDS, "price")
    words.add_all(_QUESTION, "question")
    words.add_all(_SOFT_QUESTION, "soft")
    words.add_all(("gia đình", "tham gia", "gia công", "gia tăng", "gia hạn", "ép giá", "giá cước"), "noise")
    return trade, words


@cache
def _offtopic() -> PhraseIndex[str]:
    index: PhraseIndex[str] = PhraseIndex()
    index.add_all(_TOPIC, "topic")
    index.add_all(_TROUBLE, "trouble")
    return index


def off_topic(msg: Message) -> str | None:
    """ "topic" when the post trades something other than produce, "trouble" when it complains or warns."""
    index = _offtopic()
    tokens = msg.tokens()
    found = None
    for i, n, kind in index.scan(msg, tokens):
        if n == 1 and not msg.has_marks(tokens[i].start, tokens[i].end):
            continue  # typed bare, one syllable is too often another word ("cho" chở/cho, "bao" bão/bao)
        if kind == "trouble":
            found = found or "trouble"
            continue
        before = msg.folded[: tokens[i].start].split()
        words = [w.strip(".,:;!?-[]()") for w in before]
        if len(words) <= 2 or any(w in _TOPIC_VERBS for w in words[-2:]):
            return "topic"
    return found


def read_intent(
    msg: Message,
    *,
    has_quantity: bool,
    has_price: bool,
    has_product: bool,
    offtopic: str | None = None,
    price_first: bool = False,
) -> Intent:
    """The intent, from trade verbs and price questions in the words not already read as something else."""
    trade, words = _indexes()
    tokens = msg.tokens()
    strong: Intent | None = None
    weak: Intent | None = None
    for _, _, (intent, is_strong) in trade.scan(msg, tokens):
        if intent is None:
            continue
        if is_strong and strong is None:
            strong = intent
        elif not is_strong and weak is None:
            weak = intent
    verb = strong or weak
    found = {tag for _, _, tag in words.scan(msg, tokens)}
    question = "question" in found or "?" in msg.folded
    asks_price = (
        "asking" in found
        or ("price" in found and question)
        or ("price" in found and not has_price and ("soft" in found or (verb is None and has_product)))
        # "na bn 1kg", "sầu riêng bao nhiêu" with no verb and no quantity: a price question.
        or ("question" in found and has_product and verb is None and not has_quantity)
        # "hồng vành khuyên hôm nay 12k à?": checking a price heard elsewhere.
        or ("soft" in found and has_price and has_product and verb is None and not has_quantity)
    )
    elsewhere = offtopic == "topic" or (offtopic == "trouble" and not (has_quantity and strong is not None))
    if elsewhere and not ("asking" in found or ("price" in found and question and offtopic == "trouble")):
        return Intent.UNKNOWN
    if asks_price and (not has_quantity or verb is None):
        return Intent.PRICE_QUERY
    if strong is not None:
        return strong
    if weak is not None and (has_product or has_quantity):
        # "cần", "nhận", "có" alone ("e nhận hàng lúc 7h") say nothing about trading a product.
        return weak
    if asks_price:
        return Intent.PRICE_QUERY
    if has_product and (has_quantity or (not price_first and (has_price or _PER_ITEM.search(msg.folded)))):
        # A bare "3 tạ na" is how farmers announce a lot; "Xoài cát 45k/kg" is a sale ad.
        return Intent.OFFER
    return Intent.UNKNOWN
