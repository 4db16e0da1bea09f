"""Intake field checks and category data (services/intake/validation.py, categories.py).

Check characters are computed here by a second, independent route (the weights written out
from GB 32100-2015 and GB 11643-1999), not by the stdnum functions the code under test uses.
"""

from __future__ import annotations

import pickle
import re
import struct
import zlib
from datetime import date
from decimal import Decimal

import pytest

from common import categories as cat
from common import reference
from services.intake import validation as v
from services.intake.validation import InvalidField

# --- independent check-character routes --------------------------------------------------

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100-2015: no I, O, S, V, Z


def uscc_check(body17: str) -> str:
    # Weight of position i is 3**i mod 31; the check makes the weighted sum 0 mod 31.
    total = sum(USCC_ALPHABET.index(c) * pow(3, i, 31) for i, c in enumerate(body17))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def ric_check(body17: str) -> str:
    # Weight of position i (from the left, 0-based) is 2**(17-i) mod 11.
    total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(body17))
    return "10X98765432"[total % 11]


VALID_USCC = "91330681MA2BCDEF0" + uscc_check("91330681MA2BCDEF0")
VALID_RIC = "33068119900307123" + ric_check("33068119900307123")


def ric_with_check_x() -> str:
    for seq in range(1000):
        body = f"33068119850615{seq:03d}"
        if ric_check(body) == "X":
            return body + "X"
    raise AssertionError("no sequence number gives check X")


def test_independent_routes_agree_with_published_examples() -> None:
    # Guards the helpers themselves: these two numbers are stdnum's documented examples.
    assert uscc_check("91110000600037341") == "L"
    assert ric_check("36042619910101007") == "1"


# --- InvalidField --------------------------------------------------------------------------


def test_invalid_field_carries_field_and_message_and_pickles() -> None:
    error = InvalidField("business.credit_code", "check character mismatch")
    assert isinstance(error, ValueError)
    assert (error.field, error.message) == ("business.credit_code", "check character mismatch")
    assert str(error) == "business.credit_code: check character mismatch"
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.field, copy.message, str(copy)) == (error.field, error.message, str(error))


# --- credit code ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (VALID_USCC, VALID_USCC),
        (VALID_USCC.lower(), VALID_USCC),
        (" " + " ".join([VALID_USCC[:8], VALID_USCC[8:]]) + " ", VALID_USCC),
        (VALID_USCC[:8] + "-" + VALID_USCC[8:], VALID_USCC),
        ("91110000600037341L", "91110000600037341L"),
        # full-width input from a Chinese IME
        ("".join(chr(ord(c) + 0xFEE0) for c in VALID_USCC), VALID_USCC),
        # GB 32100 allows a letter for the registering authority (Y: other)
        ("Y1330681MA2BCDEF0" + uscc_check("Y1330681MA2BCDEF0"), "Y1330681MA2BCDEF0" + uscc_check("Y1330681MA2BCDEF0")),
    ],
)
def test_credit_code_accepts_and_normalizes(raw: str, expected: str) -> None:
    assert v.credit_code(raw) == expected


def _wrong_check(code: str) -> str:
    other = USCC_ALPHABET[(USCC_ALPHABET.index(code[-1]) + 1) % len(USCC_ALPHABET)]
    return code[:-1] + other


def _transposed(code: str) -> str:
    # Swap two different neighbouring characters: the commonest typing error.
    i = next(i for i in range(8, 16) if code[i] != code[i + 1])
    return code[:i] + code[i + 1] + code[i] + code[i + 2 :]


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (_wrong_check(VALID_USCC), "check character"),
        (_transposed(VALID_USCC), "check character"),
        (VALID_USCC[:-1], "18 characters, got 17"),
        (VALID_USCC + "0", "18 characters, got 19"),
        ("91330681MA2BCDIO0" + "1", "'I', 'O'"),
        ("91330681MA2BCDEF0S", "'S'"),
        ("9133A681MA2BCDEF0" + uscc_check("9133A681MA2BCDEF0"), "characters 3-8 must be digits"),
        ("", "required"),
        ("   ", "required"),
        (913306810000000000, "must be text"),
        (None, "must be text"),
    ],
)
def test_credit_code_rejects(raw: object, fragment: str) -> None:
    with pytest.raises(InvalidField) as caught:
        v.credit_code(raw)
    assert caught.value.field == "business.credit_code"
    assert fragment in caught.value.message


def test_credit_code_uses_given_field_name() -> None:
    with pytest.raises(InvalidField) as caught:
        v.credit_code(_wrong_check(VALID_USCC), field="platform.credit_code")
    assert caught.value.field == "platform.credit_code"


# --- resident ID number --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (VALID_RIC, VALID_RIC),
        ("360426199101010071", "360426199101010071"),
        (ric_with_check_x(), ric_with_check_x()),
        (ric_with_check_x().lower(), ric_with_check_x()),
        (f" {VALID_RIC[:6]} {VALID_RIC[6:14]} {VALID_RIC[14:]} ", VALID_RIC),
    ],
)
def test_id_number_accepts(raw: str, expected: str) -> None:
    assert v.id_number(raw) == expected


def _ric(body17: str) -> str:
    return body17 + ric_check(body17)


def _bad_ric_check(number: str) -> str:
    digits = "0123456789X"
    return number[:-1] + digits[(digits.index(number[-1]) + 1) % len(digits)]


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (_bad_ric_check(VALID_RIC), "check digit"),
        (_ric("33068119900230123"), "not a real birth date"),  # 30 February
        (_ric("33068119901301123"), "not a real birth date"),  # month 13
        (_ric("33068118800101123"), "not plausible"),  # born 1880
        (_ric("33068130000101123"), "not plausible"),  # born in the future
        (_ric("99068119900307123"), "not a province code"),
        (VALID_RIC[:-1], "18 characters, got 17"),
        ("330681900307123", "15-digit"),
        ("3306811990030712A3", "17 digits followed by a digit or X"),
        ("", "required"),
        (330681199003071230, "must be text"),
    ],
)
def test_id_number_rejects(raw: object, fragment: str) -> None:
    with pytest.raises(InvalidField) as caught:
        v.id_number(raw)
    assert caught.value.field == "complainant.id_number"
    assert fragment in caught.value.message


def test_id_number_birth_date_is_judged_against_today() -> None:
    born_2024 = _ric("33068120240601123")
    assert v.id_number(born_2024, today=date(2024, 6, 1)) == born_2024
    with pytest.raises(InvalidField, match="not plausible"):
        v.id_number(born_2024, today=date(2024, 5, 31))


# --- phone ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("+8613812345678", "13812345678"),
        ("8613812345678", "13812345678"),
        ("0086 138 1234 5678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),
        ("19912345678", "19912345678"),
        ("0575-87012345", "0575-87012345"),
        ("057587012345", "0575-87012345"),
        ("0575 8701 2345", "0575-87012345"),
        ("(0575) 87012345", "0575-87012345"),
        ("+86 575 8701 2345", "0575-87012345"),
        ("010-12345678", "010-12345678"),
        ("01012345678", "010-12345678"),
        ("020-38888888", "020-38888888"),
    ],
)
def test_phone_accepts_and_normalizes(raw: str, expected: str) -> None:
    assert v.phone(raw) == expected


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("12315", "not a valid number"),  # service number, too short
        ("95588", "not a valid number"),
        ("1381234567", "not a valid number"),  # 10 digits
        ("138123456789", "not a valid number"),  # 12 digits
        ("12345678901", "not a valid number"),  # 11 digits but not 1[3-9]
        ("87012345", "not a valid number"),  # landline without area code
        ("0571-8888888", "not a valid number"),  # Hangzhou numbers have 8 digits
        ("4008123123", "hotline"),
        ("800-810-8888", "hotline"),
        ("+852 9123 4567", "mainland China"),
        ("+1 650 253 0000", "mainland China"),
        ("001 650 253 0000", "mainland China"),
        ("1380013800a", "only digits"),
        ("138 0013 8000 ext 12", "only digits"),
        ("abc", "only digits"),
        ("", "required"),
        ("   ", "required"),
        (13812345678, "must be text"),
    ],
)
def test_phone_rejects(raw: object, fragment: str) -> None:
    with pytest.raises(InvalidField) as caught:
        v.phone(raw)
    assert caught.value.field == "complainant.phone"
    assert fragment in caught.value.message
    assert "0575-87012345" in caught.value.message or "must be text" in caught.value.message


# --- amount --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (0, "0.00"),
        ("0", "0.00"),
        ("-0", "0.00"),
        ("399.00", "399.00"),
        (" 399.1 ", "399.10"),
        ("399.000", "399.00"),
        (Decimal("399.00"), "399.00"),
        (399, "399.00"),
        (399.5, "399.50"),
        (0.1, "0.10"),
        ("３９９", "399.00"),
        ("10000000", "10000000.00"),
        (v.MAX_CLAIM_AMOUNT, "10000000.00"),
    ],
)
def test_amount_accepts(raw: object, expected: str) -> None:
    result = v.amount(raw)
    assert isinstance(result, Decimal)
    assert str(result) == expected


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("399.005", "two decimal places"),
        (399.005, "two decimal places"),
        (Decimal("399.005"), "two decimal places"),
        (0.1 + 0.2, "two decimal places"),
        (-1, "negative"),
        ("-0.01", "negative"),
        ("10000000.01", "at most 10000000.00"),
        (v.MAX_CLAIM_AMOUNT + Decimal("0.01"), "at most 10000000.00"),
        (10**9, "at most 10000000.00"),
        ("abc", "not a number"),
        ("", "not a number"),
        ("1e3", "not a number"),
        ("1,000", "not a number"),
        ("¥399", "not a number"),
        ("NaN", "not a number"),
        (True, "true/false"),
        (False, "true/false"),
        (float("nan"), "finite"),
        (float("inf"), "finite"),
        (Decimal("NaN"), "finite"),
        (Decimal("-Infinity"), "finite"),
        (None, "got NoneType"),
        ([399], "got list"),
    ],
)
def test_amount_rejects(raw: object, fragment: str) -> None:
    with pytest.raises(InvalidField) as caught:
        v.amount(raw)
    assert caught.value.field == "claim_amount"
    assert fragment in caught.value.message


def test_amount_bound_constant() -> None:
    assert Decimal("10000000.00") == v.MAX_CLAIM_AMOUNT


# --- text ----------------------------------------------------------------------------------


def test_text_limit_constants() -> None:
    assert (v.MAX_SUMMARY_LEN, v.MAX_NAME_LEN, v.MAX_ADDRESS_LEN) == (2000, 100, 200)


@pytest.mark.parametrize(
    ("raw", "max_len", "min_len", "expected"),
    [
        ("  商品有质量问题  ", 100, 1, "商品有质量问题"),
        ("第一行\r\n第二行\r第三行", 100, 1, "第一行\n第二行\n第三行"),
        ("列1\t列2", 100, 1, "列1\t列2"),
        ("投" * 2000, v.MAX_SUMMARY_LEN, 1, "投" * 2000),  # a Chinese character counts one
        ("abcde", 5, 5, "abcde"),
        ("  ", 10, 0, ""),
        ("e\u0301", 10, 1, "\u00e9"),  # NFC: one character, not two
    ],
)
def test_text_accepts(raw: str, max_len: int, min_len: int, expected: str) -> None:
    assert v.text(raw, "summary", max_len=max_len, min_len=min_len) == expected


@pytest.mark.parametrize(
    ("raw", "max_len", "min_len", "fragment"),
    [
        ("投" * 2001, v.MAX_SUMMARY_LEN, 1, "too long: at most 2000 characters, got 2001"),
        ("x" * 101, v.MAX_NAME_LEN, 1, "at most 100"),
        ("abc", 10, 5, "too short: at least 5"),
        ("", 10, 1, "required"),
        (" \n\t ", 10, 1, "required"),
        ("a\x00b", 10, 1, "U+0000"),
        ("bell\x07", 10, 1, "U+0007"),
        ("\x1b[31mred", 20, 1, "U+001B"),
        ("del\x7f", 10, 1, "U+007F"),
        ("nel\x85x", 10, 1, "U+0085"),
        ("价格\u202e00.993", 20, 1, "U+202E"),  # right-to-left override
        ("lone\ud800", 10, 1, "U+D800"),
        (42, 10, 1, "must be text"),
    ],
)
def test_text_rejects(raw: object, max_len: int, min_len: int, fragment: str) -> None:
    with pytest.raises(InvalidField) as caught:
        v.text(raw, "summary", max_len=max_len, min_len=min_len)
    assert caught.value.field == "summary"
    assert fragment in caught.value.message


def test_text_refuses_impossible_limits() -> None:
    with pytest.raises(ValueError, match="bad limits"):
        v.text("x", "summary", max_len=1, min_len=2)


# --- evidence files ------------------------------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


# A complete 1x1 white PNG.
PNG_FILE = (
    b"\x89PNG\r\n\x1a\n"
    + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    + _png_chunk(b"IDAT", zlib.compress(b"\x00\xff\xff\xff"))
    + _png_chunk(b"IEND", b"")
)
# JFIF APP0 segment, then end of image: the header every camera JPEG starts with.
JPEG_FILE = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
EXIF_JPEG_FILE = b"\xff\xd8\xff\xe1\x00\x08Exif\x00\x00\xff\xd9"
PDF_FILE = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
GIF_FILE = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
WEBP_FILE = b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"
MP3_FRAME = b"\xff\xfb\x90\x64" + b"\x00" * 413  # MPEG-1 Layer III, 128 kbit/s, 44.1 kHz
MP3_FILE = MP3_FRAME * 2
ID3_TAG = b"ID3\x04\x00\x00\x00\x00\x00\x14" + b"TIT2\x00\x00\x00\x0a\x00\x00\x03voice mem"
ID3_MP3_FILE = ID3_TAG + MP3_FRAME


def _ftyp(brand: bytes, *compatible: bytes) -> bytes:
    body = brand + b"\x00\x00\x02\x00" + b"".join(compatible)
    return struct.pack(">I", 8 + len(body)) + b"ftyp" + body + b"\x00\x00\x00\x08free"


M4A_FILE = _ftyp(b"M4A ", b"M4A ", b"mp42", b"isom")
MP4_FILE = _ftyp(b"isom", b"isom", b"iso2", b"avc1", b"mp41")


@pytest.mark.parametrize(
    ("filename", "content", "kind"),
    [
        ("photo.png", PNG_FILE, v.PNG),
        ("photo.jpg", JPEG_FILE, v.JPEG),
        ("IMG_0001.JPG", EXIF_JPEG_FILE, v.JPEG),
        ("receipt.pdf", PDF_FILE, v.PDF),
        ("anim.gif", GIF_FILE, v.GIF),
        ("chat.webp", WEBP_FILE, v.WEBP),
        ("call.mp3", MP3_FILE, v.MP3),
        ("call.mp3", ID3_MP3_FILE, v.MP3),
        ("voice.m4a", M4A_FILE, v.M4A),
        ("video.mp4", MP4_FILE, v.MP4),
        # The name never decides the type: content wins.
        ("screenshot.png", JPEG_FILE, v.JPEG),
        ("document", PDF_FILE, v.PDF),
        ("", PNG_FILE, v.PNG),
        # Same container: a generic-brand file named .m4a is audio
        ("recording.m4a", MP4_FILE, v.M4A),
    ],
)
def test_evidence_accepted_by_content(filename: str, content: bytes, kind: v.EvidenceKind) -> None:
    assert v.evidence_file(filename, content) == kind


def test_evidence_kind_tells_mime_and_safe_extension() -> None:
    kind = v.evidence_file("evil.php.jpg", JPEG_FILE)
    assert (kind.mime_type, kind.extension, kind.media) == ("image/jpeg", ".jpg", "image")
    assert v.evidence_file("x", bytearray(PDF_FILE)).mime_type == "application/pdf"


@pytest.mark.parametrize(
    ("filename", "content", "fragment"),
    [
        ("photo.jpg", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 100, "Windows program"),
        ("photo.jpg", b"PK\x03\x04\x14\x00\x00\x00" + b"\x00" * 100, "ZIP archive"),
        ("photo.jpg", b"<!DOCTYPE html><html><script>alert(1)</script></html>", "HTML"),
        ("photo.png", b"\xef\xbb\xbf  <svg xmlns='http://www.w3.org/2000/svg'/>", "SVG"),
        ("photo.jpg", b"\x7fELF\x02\x01\x01" + b"\x00" * 50, "Linux program"),
        ("notes.pdf", b"just some plain text, not a PDF", "not a recognised type"),
        ("poly.pdf", b"<html>" + PDF_FILE, "HTML"),  # a PDF header not at the start
        ("clip.mp4", _ftyp(b"qt  ", b"qt  "), "QuickTime"),
        ("IMG_0002.jpg", _ftyp(b"heic", b"mif1", b"heic"), "HEIC"),
        ("call.amr", b"#!AMR\n" + b"\x00" * 30, "AMR"),
        ("call.wav", b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 28, "WAV"),
        # An ID3 tag wrapped around something that is not audio
        ("song.mp3", ID3_TAG + b"<html><script>alert(1)</script></html>", "not a recognised type"),
        ("photo.png", PNG_FILE[:8] + b"\x00" * 20, "not a recognised type"),  # signature without IHDR
    ],
)
def test_evidence_rejected_by_content_whatever_the_name(filename: str, content: bytes, fragment: str) -> None:
    with pytest.raises(InvalidField) as caught:
        v.evidence_file(filename, content)
    assert caught.value.field == "evidence"
    assert "not an allowed type" in caught.value.message
    assert repr(filename) in caught.value.message
    assert fragment in caught.value.message


def test_evidence_empty_rejected() -> None:
    with pytest.raises(InvalidField, match="is empty") as caught:
        v.evidence_file("photo.jpg", b"")
    assert caught.value.field == "evidence"


def test_evidence_size_limit_is_10_mib_inclusive() -> None:
    assert v.MAX_EVIDENCE_BYTES == 10 * 1024 * 1024
    at_limit = PDF_FILE + b"\x00" * (v.MAX_EVIDENCE_BYTES - len(PDF_FILE))
    assert v.evidence_file("big.pdf", at_limit) == v.PDF
    with pytest.raises(InvalidField, match="at most 10485760 bytes") as caught:
        v.evidence_file("big.pdf", at_limit + b"\x00", field="evidence[3]")
    assert caught.value.field == "evidence[3]"


def test_evidence_message_keeps_control_characters_of_the_name_out() -> None:
    with pytest.raises(InvalidField) as caught:
        v.evidence_file("photo\x1b[2J\n.jpg", b"MZ" + b"\x00" * 10)
    assert not re.search(r"[\x00-\x1f]", caught.value.message)
    assert "photo[2J.jpg" in caught.value.message


def test_evidence_non_bytes_content_rejected() -> None:
    with pytest.raises(InvalidField, match="must be bytes"):
        v.evidence_file("photo.jpg", "not bytes")  # type: ignore[arg-type]


def test_allowed_evidence_kinds_are_distinct() -> None:
    kinds = v.ALLOWED_EVIDENCE
    assert {k.mime_type for k in kinds} == {
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "application/pdf",
        "audio/mpeg",
        "audio/mp4",
        "video/mp4",
    }
    assert len({k.extension for k in kinds}) == len(kinds)
    assert all(re.fullmatch(r"\.[a-z0-9]+", k.extension) for k in kinds)


# --- categories, requests, refusal grounds ---------------------------------------------------

REQUIRED_CATEGORY_CODES = {
    "product_quality",
    "after_sales",
    "contract",
    "price",
    "false_advertising",
    "food_safety",
    "measurement",
    "advertising",
    "personal_safety",
    "online_shopping",
    "prepaid_card",
    "service_quality",
    "personal_information",
    "labour_dispute",
    "public_order",
    "fraud_extortion",
    "other",
}


def test_categories_complete_and_unique() -> None:
    codes = [c.code for c in cat.CATEGORIES]
    assert set(codes) >= REQUIRED_CATEGORY_CODES
    assert 15 <= len(codes) <= 25
    assert len(set(codes)) == len(codes)
    assert len({c.name_zh for c in cat.CATEGORIES}) == len(codes)
    assert len({c.name_en for c in cat.CATEGORIES}) == len(codes)
    assert all(re.fullmatch(r"[a-z][a-z_]*[a-z]", code) for code in codes)
    assert all(re.search(r"[\u4e00-\u9fff]", c.name_zh) for c in cat.CATEGORIES)
    assert codes[-1] == "other"  # the catch-all closes the drop-down


@pytest.mark.parametrize(
    ("code", "name_zh", "safety_related", "agency"),
    [
        ("product_quality", "商品质量", False, None),
        ("after_sales", "售后服务", False, None),
        ("prepaid_card", "预付卡", False, None),
        ("personal_information", "消费者个人信息", False, None),
        ("food_safety", "食品安全", True, None),
        ("special_equipment", "特种设备", True, None),
        ("personal_safety", "人身财产安全", True, None),
        ("labour_dispute", "劳动争议", False, "labour_arbitration"),
        ("public_order", "治安纠纷", False, "police"),
        ("fraud_extortion", "诈骗、敲诈勒索", False, "police"),
        ("other", "其他", False, None),
    ],
)
def test_category_lookup_and_flags(code: str, name_zh: str, safety_related: bool, agency: str | None) -> None:
    found = cat.category(code)
    assert (found.code, found.name_zh, found.safety_related, found.agency) == (code, name_zh, safety_related, agency)


def test_safety_and_agency_sets_are_exactly_these() -> None:
    assert {c.code for c in cat.CATEGORIES if c.safety_related} == {
        "food_safety",
        "drug_medical_device",
        "special_equipment",
        "personal_safety",
    }
    assert {c.code: c.agency for c in cat.CATEGORIES if c.agency} == {
        "labour_dispute": "labour_arbitration",
        "public_order": "police",
        "fraud_extortion": "police",
    }
    assert all(c.agency in reference.AGENCY_TYPES for c in cat.CATEGORIES if c.agency)


@pytest.mark.parametrize("code", ["unknown", "", "Food_Safety", "食品安全"])
def test_unknown_category_raises_key_error(code: str) -> None:
    with pytest.raises(KeyError, match="unknown complaint category"):
        cat.category(code)


def test_consumer_requests_complete_with_labels() -> None:
    assert {"refund", "exchange", "repair", "compensation", "apology"} <= {r.value for r in cat.ConsumerRequest}
    labels = [r.label_zh for r in cat.ConsumerRequest]
    assert len(set(labels)) == len(labels)
    assert cat.ConsumerRequest.APOLOGY.label_zh == "赔礼道歉"
    assert cat.consumer_request("repair") is cat.ConsumerRequest.REPAIR
    with pytest.raises(KeyError):
        cat.consumer_request("free_money")


def test_refusal_grounds_complete_unique_and_labelled() -> None:
    grounds = list(cat.RefusalGround)
    assert [g.value for g in grounds] == [
        "not_within_remit",
        "already_handled",
        "not_consumer_dispute",
        "time_barred",
        "material_missing_or_false",
        "identity_not_verified",
        "other_legal_ground",
    ]
    assert len({g.label_zh for g in grounds}) == len(grounds)
    assert len({g.other_routes_zh for g in grounds}) == len(grounds)
    for ground in grounds:
        assert re.search(r"[\u4e00-\u9fff]", ground.label_zh), ground
        assert len(ground.other_routes_zh) >= 20, ground


@pytest.mark.parametrize(
    ("ground", "label_part", "route_part"),
    [
        (cat.RefusalGround.NOT_WITHIN_REMIT, "不属于本部门职责范围", "有处理权限"),
        (cat.RefusalGround.ALREADY_HANDLED, "已经受理或者处理", "人民法院"),
        (cat.RefusalGround.NOT_CONSUMER_DISPUTE, "生活消费", "举报"),
        (cat.RefusalGround.TIME_BARRED, "三年", "人民法院"),
        (cat.RefusalGround.MATERIAL_MISSING_OR_FALSE, "材料", "重新投诉"),
        (cat.RefusalGround.IDENTITY_NOT_VERIFIED, "身份", "身份核实"),
        (cat.RefusalGround.OTHER_LEGAL_GROUND, "法律、法规、规章", "仲裁"),
    ],
)
def test_refusal_ground_label_and_routes(ground: cat.RefusalGround, label_part: str, route_part: str) -> None:
    assert label_part in ground.label_zh
    assert route_part in ground.other_routes_zh
    assert cat.refusal_ground(ground.value) is ground


def test_unknown_refusal_ground_raises_key_error() -> None:
    with pytest.raises(KeyError, match="unknown refusal ground"):
        cat.refusal_ground("did_not_like_it")
