"""Field checks for complaint intake (受理登记).

Each check takes what a person typed (or a form or an agency's hand-over sent) and either
returns the value in the one form the platform stores, or raises `InvalidField` naming the
field, what is wrong and what is allowed, so a clerk or a consumer can fix it unaided.

Pure functions: no database, no broker, no clock except where a caller may pass `today`.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Final, Literal

import phonenumbers
from phonenumbers import PhoneNumberType
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError as StdnumValidationError

__all__ = [
    "ALLOWED_EVIDENCE",
    "GIF",
    "JPEG",
    "M4A",
    "MAX_ADDRESS_LEN",
    "MAX_CLAIM_AMOUNT",
    "MAX_EVIDENCE_BYTES",
    "MAX_NAME_LEN",
    "MAX_NOTE_LEN",
    "MAX_PRODUCT_LEN",
    "MAX_SHOP_NAME_LEN",
    "MAX_SUMMARY_LEN",
    "MP3",
    "MP4",
    "PDF",
    "PNG",
    "WEBP",
    "EvidenceKind",
    "InvalidField",
    "amount",
    "credit_code",
    "evidence_file",
    "id_number",
    "phone",
    "text",
]


class InvalidField(ValueError):
    """A field's value is not acceptable; `message` says what is wrong and what is allowed."""

    # A ValueError so a pydantic validator can raise it and have it reported as a field error;
    # args are (field, message) so the exception pickles and crosses RPC boundaries intact.
    def __init__(self, field: str, message: str) -> None:
        super().__init__(field, message)
        self.field = field
        self.message = message

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def _require_str(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise InvalidField(field, f"must be text, got {type(value).__name__}")
    return value


def _nfkc(value: str) -> str:
    # Chinese input methods often type full-width digits and letters (１３８, Ｘ); NFKC folds
    # them to ASCII. Only for codes and numbers: free text keeps its full-width punctuation.
    return unicodedata.normalize("NFKC", value)


# --- unified social credit code (统一社会信用代码, GB 32100-2015) -----------------------------

_USCC_ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def credit_code(value: object, field: str = "business.credit_code") -> str:
    """Return the 18-character code in upper case without spaces or dashes."""
    code = uscc.compact(_nfkc(_require_str(value, field)))
    if not code:
        raise InvalidField(field, "required: the 18-character unified social credit code (统一社会信用代码)")
    if len(code) != 18:
        raise InvalidField(field, f"a unified social credit code has 18 characters, got {len(code)}")
    bad = sorted({c for c in code if c not in _USCC_ALPHABET})
    if bad:
        raise InvalidField(
            field,
            f"contains {', '.join(repr(c) for c in bad)}: only digits and capital letters "
            "other than I, O, S, V, Z are allowed",
        )
    # stdnum's validate() wants digits in positions 1-2, but GB 32100 lets the registering
    # authority and entity type be letters (Y: other authorities, N: rural collectives), so
    # the structure is checked here and stdnum supplies the check character.
    if not code[2:8].isdigit():
        raise InvalidField(field, "characters 3-8 must be digits (the registering area's division code)")
    if code[-1] != uscc.calc_check_digit(code[:-1]):
        # The expected character is deliberately not shown: the typo may be anywhere, and a
        # clerk told "expected Y" would "fix" the last character instead of re-reading it.
        raise InvalidField(
            field,
            "not a valid unified social credit code (GB 32100-2015): check character mismatch; "
            "copy it again from the business licence",
        )
    return code


# --- resident identity card number (居民身份证号码, GB 11643-1999) ---------------------------

# First two digits: the 31 mainland provinces, plus 71/81/82/83 used by Taiwan, Hong Kong and
# Macao residents' residence permits (830000 for Taiwan residents).
_PROVINCE_CODES: Final = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46}
    | {50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83}
)
_EARLIEST_BIRTH: Final = date(1900, 1, 1)


def id_number(value: object, field: str = "complainant.id_number", *, today: date | None = None) -> str:
    """Return the 18-character ID number (final 'x' upper-cased).

    Checks length, digits, province, check digit and birth date. The birthplace county is
    not checked: stdnum's county table lags behind new division codes, and a false refusal
    blocks a real consumer while the check digit already catches typos.
    """
    number = re.sub(r"[\s-]", "", _nfkc(_require_str(value, field))).upper()
    if not number:
        raise InvalidField(field, "required: the 18-character resident ID number")
    if len(number) == 15 and number.isdigit():
        raise InvalidField(field, "15-digit first-generation ID numbers are no longer valid; give the 18-character one")
    if len(number) != 18:
        raise InvalidField(field, f"a resident ID number has 18 characters, got {len(number)}")
    if not (number[:17].isascii() and number[:17].isdigit() and number[17] in "0123456789X"):
        raise InvalidField(field, "must be 17 digits followed by a digit or X")
    if int(number[:2]) not in _PROVINCE_CODES:
        raise InvalidField(field, f"starts with {number[:2]}, which is not a province code")
    if number[-1] != ric.calc_check_digit(number):
        raise InvalidField(field, "check digit mismatch (GB 11643-1999): a digit was probably mistyped")
    try:
        born = ric.get_birth_date(number)
    except StdnumValidationError:
        raise InvalidField(field, f"digits 7-14 ({number[6:14]}) are not a real birth date (YYYYMMDD)") from None
    if not _EARLIEST_BIRTH <= born <= (today or date.today()):
        raise InvalidField(field, f"birth date {born.isoformat()} is not plausible")
    return number


# --- telephone -----------------------------------------------------------------------------

# What a person may type around the digits; anything else (letters, 'ext', '#') is refused
# before phonenumbers sees it, since it reads letters as keypad digits (vanity numbers).
_PHONE_CHARS: Final = re.compile(r"\+?[0-9 ()\-.]+")
_MOBILE: Final = re.compile(r"1[3-9]\d{9}")
_ALLOWED_PHONE = "a mainland mobile (11 digits, e.g. 13812345678) or a landline with area code (e.g. 0575-87012345)"


def phone(value: object, field: str = "complainant.phone") -> str:
    """Return a mainland mobile as 11 digits, or a landline as "0AREA-NUMBER".

    +86 / 86 / 0086 prefixes, spaces, dashes, dots and brackets are accepted on input.
    """
    raw = _nfkc(_require_str(value, field)).strip()
    if not raw:
        raise InvalidField(field, f"required: {_ALLOWED_PHONE}")
    if not _PHONE_CHARS.fullmatch(raw):
        raise InvalidField(field, f"may contain only digits, spaces, dashes and a leading +; give {_ALLOWED_PHONE}")
    digits = re.sub(r"\D", "", raw)
    # An explicit international prefix that is not China's means a foreign number.
    if (raw.startswith("+") and not digits.startswith("86")) or (
        digits.startswith("00") and not digits.startswith("0086")
    ):
        raise InvalidField(field, f"only mainland China numbers (+86) are accepted; give {_ALLOWED_PHONE}")
    try:
        parsed = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException:
        raise InvalidField(field, f"not a phone number; give {_ALLOWED_PHONE}") from None
    if parsed.country_code != 86 or phonenumbers.region_code_for_number(parsed) != "CN":
        raise InvalidField(field, f"only mainland China numbers (+86) are accepted; give {_ALLOWED_PHONE}")
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidField(field, f"not a valid number (wrong length or prefix); give {_ALLOWED_PHONE}")
    national = str(parsed.national_number)
    kind = phonenumbers.number_type(parsed)
    if kind == PhoneNumberType.MOBILE and _MOBILE.fullmatch(national):
        return national
    if kind == PhoneNumberType.FIXED_LINE:
        area_len = phonenumbers.length_of_geographical_area_code(parsed)
        if area_len:
            return f"0{national[:area_len]}-{national[area_len:]}"
    # 400/800 hotlines, 95xxx and similar reach a company, not the complainant.
    raise InvalidField(field, f"service and hotline numbers are not accepted; give {_ALLOWED_PHONE}")


# --- money ---------------------------------------------------------------------------------

MAX_CLAIM_AMOUNT: Final = Decimal("10000000.00")
_CENT: Final = Decimal("0.01")
# Plain decimal notation only: no exponent, no thousands separators, no currency sign.
_AMOUNT_TEXT: Final = re.compile(r"[+-]?[0-9]{1,15}(?:\.[0-9]{1,15})?")
_AMOUNT_HINT: Final = "yuan with at most two decimals, e.g. 399 or 399.00"


def amount(value: object, field: str = "claim_amount") -> Decimal:
    """Return a non-negative amount in yuan quantized to fen (two decimals)."""
    if isinstance(value, bool):  # bool is an int subclass: True would become 1 yuan
        raise InvalidField(field, f"must be a number of {_AMOUNT_HINT}, not true/false")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidField(field, f"must be a finite number of {_AMOUNT_HINT}")
        # repr() is the shortest text that round-trips, so 399.1 stays 399.1, not 399.0999...
        number = Decimal(repr(value))
    elif isinstance(value, str):
        cleaned = _nfkc(value).strip()
        if not _AMOUNT_TEXT.fullmatch(cleaned):
            raise InvalidField(field, f"not a number: write {_AMOUNT_HINT} (no commas or currency sign)")
        number = Decimal(cleaned)
    else:
        raise InvalidField(field, f"must be a number of {_AMOUNT_HINT}, got {type(value).__name__}")
    if not number.is_finite():
        raise InvalidField(field, f"must be a finite number of {_AMOUNT_HINT}")
    if number < 0:
        raise InvalidField(field, "must not be negative")
    if number > MAX_CLAIM_AMOUNT:
        raise InvalidField(field, f"must be at most {MAX_CLAIM_AMOUNT} yuan")
    cents = number.quantize(_CENT)
    if cents != number:
        raise InvalidField(field, "at most two decimal places (fen) are allowed")
    return abs(cents)  # abs() turns a typed "-0" into 0.00


# --- free text -----------------------------------------------------------------------------

MAX_SUMMARY_LEN: Final = 2000  # what happened, in the consumer's words
MAX_NAME_LEN: Final = 100  # a person's or a business's name
MAX_ADDRESS_LEN: Final = 200
MAX_SHOP_NAME_LEN: Final = 100  # a platform shop's display name
MAX_PRODUCT_LEN: Final = 200  # the goods or service concerned
MAX_NOTE_LEN: Final = 500  # details of what is asked, a clerk's remark

# Bidirectional overrides and isolates can make a text display differently from what it
# says (e.g. a reversed amount or name), so they are refused like control characters.
_BIDI_CONTROLS: Final = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_LINE_BREAKS: Final = re.compile("\r\n|[\r\u2028\u2029]")


def text(value: object, field: str, *, max_len: int, min_len: int = 1) -> str:
    """Return the text NFC-normalized and stripped, line breaks as "\\n".

    Lengths count characters (a Chinese character counts one), after stripping.
    """
    if min_len < 0 or max_len < min_len:
        raise ValueError(f"bad limits for {field}: min_len={min_len}, max_len={max_len}")
    # Browsers submit textarea line breaks as CRLF; storing one form keeps lengths honest.
    cleaned = _LINE_BREAKS.sub("\n", unicodedata.normalize("NFC", _require_str(value, field))).strip()
    for position, char in enumerate(cleaned, start=1):
        category = unicodedata.category(char)
        if (category == "Cc" and char not in "\n\t") or category == "Cs" or char in _BIDI_CONTROLS:
            raise InvalidField(
                field,
                f"contains control character U+{ord(char):04X} at position {position}; "
                "only ordinary text, line breaks and tabs are allowed",
            )
    if len(cleaned) < min_len:
        if not cleaned:
            raise InvalidField(field, "required: must not be empty")
        raise InvalidField(field, f"too short: at least {min_len} characters, got {len(cleaned)}")
    if len(cleaned) > max_len:
        raise InvalidField(field, f"too long: at most {max_len} characters, got {len(cleaned)}")
    return cleaned


# --- evidence files ------------------------------------------------------------------------

MAX_EVIDENCE_BYTES: Final = 10 * 1024 * 1024  # 10 MiB per file


@dataclass(frozen=True, slots=True)
class EvidenceKind:
    """What an evidence file really is, judged by its content."""

    mime_type: str
    extension: str  # with the dot; store the file under this, never under the uploaded name
    media: Literal["image", "document", "audio", "video"]
    label: str  # for messages and the upload form


JPEG: Final = EvidenceKind("image/jpeg", ".jpg", "image", "JPEG")
PNG: Final = EvidenceKind("image/png", ".png", "image", "PNG")
GIF: Final = EvidenceKind("image/gif", ".gif", "image", "GIF")
WEBP: Final = EvidenceKind("image/webp", ".webp", "image", "WebP")
PDF: Final = EvidenceKind("application/pdf", ".pdf", "document", "PDF")
MP3: Final = EvidenceKind("audio/mpeg", ".mp3", "audio", "MP3")
M4A: Final = EvidenceKind("audio/mp4", ".m4a", "audio", "M4A")
MP4: Final = EvidenceKind("video/mp4", ".mp4", "video", "MP4")

# Accepted, by content:
#   JPEG  FF D8 FF + a marker byte            PNG   signature + IHDR chunk
#   GIF   "GIF87a" / "GIF89a"                 WebP  "RIFF" size "WEBP" + VP8/VP8L/VP8X chunk
#   PDF   "%PDF-n.n" at offset 0 (not later: a PDF header buried after other bytes is a polyglot)
#   MP3   MPEG-1/2/2.5 Layer III frame, optionally after an ID3v2 tag
#   M4A   ISO base media "ftyp" box with major brand "M4A "
#   MP4   ISO base media "ftyp" box with an MP4 brand (isom, iso2-6, mp41, mp42, avc1, mmp4, MSNV)
# Not accepted on purpose: QuickTime .mov, 3GP, HEIC, AMR, WAV, BMP, SVG (can carry script),
# office documents and archives (can carry macros or anything), executables.
ALLOWED_EVIDENCE: Final = (JPEG, PNG, GIF, WEBP, PDF, MP3, M4A, MP4)
_ALLOWED_LABELS: Final = "JPEG, PNG, GIF, WebP images; PDF; MP3 or M4A audio; MP4 video"

_MP4_BRANDS: Final = frozenset(
    {b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"mmp4", b"MSNV"}
)
_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
_PDF_HEADER: Final = re.compile(rb"%PDF-\d\.\d")


def _is_mpeg_audio_frame(header: bytes) -> bool:
    """True for a 4-byte MPEG audio frame header of Layer III (what .mp3 files hold)."""
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return False
    version = (header[1] >> 3) & 0b11  # 0b01 is reserved
    layer = (header[1] >> 1) & 0b11  # 0b01 is Layer III
    bitrate = header[2] >> 4  # 0 "free" and 15 "bad" are refused
    sample_rate = (header[2] >> 2) & 0b11  # 0b11 is reserved
    return version != 0b01 and layer == 0b01 and bitrate not in (0, 15) and sample_rate != 0b11


def _sniff_mp3(content: bytes) -> bool:
    if content[:3] != b"ID3":
        return _is_mpeg_audio_frame(content[:4])
    header = content[:10]
    # ID3v2.2-2.4; the tag size is four 7-bit ("syncsafe") bytes.
    if len(header) < 10 or header[3] not in (2, 3, 4) or any(b >= 0x80 for b in header[6:10]):
        return False
    size = (header[6] << 21) | (header[7] << 14) | (header[8] << 7) | header[9]
    end = 10 + size + (10 if header[5] & 0x10 else 0)  # footer flag
    # A tag must be followed by audio frames, else it is a wrapper around something else.
    while end < len(content) and content[end] == 0:  # tolerate padding past the declared size
        end += 1
    return _is_mpeg_audio_frame(content[end : end + 4])


def _sniff_iso_media(content: bytes, filename: str) -> EvidenceKind | None:
    if len(content) < 16 or content[4:8] != b"ftyp":
        return None
    box_size = int.from_bytes(content[:4], "big")
    if box_size < 16 or (box_size - 16) % 4 or box_size > min(len(content), 4096):
        return None
    brand = content[8:12]
    if brand == b"M4A ":
        return M4A
    if brand in _MP4_BRANDS:
        # Phones often write audio-only recordings with a generic brand; the container is the
        # same, so the name may pick audio over video, but it never makes a file acceptable.
        return M4A if filename.lower().endswith(".m4a") else MP4
    return None


def _sniff(content: bytes, filename: str) -> EvidenceKind | None:
    if content[:3] == b"\xff\xd8\xff" and len(content) > 3 and 0xC0 <= content[3] <= 0xFE:
        return JPEG
    if content[:8] == _PNG_SIGNATURE and content[8:16] == b"\x00\x00\x00\x0dIHDR":
        return PNG
    if content[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP" and content[12:16] in (b"VP8 ", b"VP8L", b"VP8X"):
        return WEBP
    if _PDF_HEADER.match(content[:8]):
        return PDF
    if _sniff_mp3(content):
        return MP3
    return _sniff_iso_media(content, filename)


# Only to tell the person what they sent; anything not sniffed above is refused regardless.
_KNOWN_REFUSED: Final = (
    (b"MZ", "a Windows program"),
    (b"\x7fELF", "a Linux program"),
    (b"\xcf\xfa\xed\xfe", "a macOS program"),
    (b"\xca\xfe\xba\xbe", "a macOS program"),
    (b"PK\x03\x04", "a ZIP archive (or a .docx/.xlsx/.apk, which are ZIP inside)"),
    (b"PK\x05\x06", "a ZIP archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\xd0\xcf\x11\xe0", "an old Microsoft Office document"),
    (b"#!AMR", "an AMR voice recording"),
    (b"#!", "a script"),
)


def _describe_refused(content: bytes) -> str:
    for magic, description in _KNOWN_REFUSED:
        if content.startswith(magic):
            return description
    if content[4:8] == b"ftyp":
        brand = content[8:12]
        if brand == b"qt  ":
            return "a QuickTime (.mov) video"
        if brand[:3] in (b"hei", b"mif", b"msf"):
            return "a HEIC/HEIF photo"
        if brand[:3] in (b"3gp", b"3g2"):
            return "a 3GP video"
    if content[:4] == b"RIFF":
        return f"a RIFF {content[8:12].decode('latin-1')!r} file (e.g. WAV or AVI)"
    if content.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<":
        return "HTML, XML or SVG markup"
    return "not a recognised type"


def _display_name(filename: str) -> str:
    # The name is the uploader's text: keep control characters and very long names out of messages.
    shown = "".join(c for c in filename if unicodedata.category(c)[0] != "C")
    return shown if len(shown) <= 80 else shown[:77] + "..."


def evidence_file(filename: str, content: bytes, field: str = "evidence") -> EvidenceKind:
    """Decide what an uploaded evidence file is from its bytes; the name is not trusted."""
    if not isinstance(content, bytes | bytearray):
        raise InvalidField(field, f"file content must be bytes, got {type(content).__name__}")
    name = _display_name(filename if isinstance(filename, str) else "")
    if not content:
        raise InvalidField(field, f"file {name!r} is empty")
    if len(content) > MAX_EVIDENCE_BYTES:
        raise InvalidField(
            field,
            f"file {name!r} is {len(content)} bytes; at most {MAX_EVIDENCE_BYTES} bytes (10 MiB) are allowed",
        )
    data = bytes(content)
    kind = _sniff(data, name)
    if kind is None:
        raise InvalidField(
            field,
            f"file {name!r} is not an allowed type: its content is {_describe_refused(data)}, "
            f"whatever its name says; allowed: {_ALLOWED_LABELS}",
        )
    return kind
