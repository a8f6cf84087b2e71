"""Bytes to text: the encodings of text files, HTML files and JSONL lines.

Text is UTF-8 (with or without BOM) or UTF-16 or UTF-32 by its BOM; bytes full of NUL
are UTF-16 or UTF-32 without a BOM, or binary; ASCII with the escapes of
ISO-2022-JP or -KR is in that; UTF-8 with a few damaged
bytes stays UTF-8; anything else goes to charset-normalizer's detector
(or, when it finds no language, to the East Asian encodings: a page in one
with a damaged byte); among the Latin code pages, the reading that spells a
language (:mod:`~classifier.inputs.codepages`). HTML is read by its BOM, else by the charset it came
with (an HTTP header) or its ``<meta>`` declares, a few bytes it cannot read
replaced. A JSONL stream that starts with a UTF-16 or UTF-32 BOM is read
in that encoding, a line at a time (:func:`as_utf8_lines`).
Binary bytes raise :class:`~classifier.errors.InputError`; text never does.
"""

from __future__ import annotations

import codecs
import io
import re
import zlib
from collections.abc import Iterator
from typing import IO

from charset_normalizer import from_bytes

from ..errors import InputError
from .charsets import EXTENDED, SUPERSETS, declared_codec
from .codepages import best_latin_reading, is_latin_code_page
from .wide import WIDE_CODECS, wide_text_of_binary_looking, wide_text_without_bom

# What reading a file (a gzipped one too) raises when it is unreadable, cut short or not gzip after all.
READ_ERRORS = (OSError, EOFError, zlib.error)

# UTF-32's byte order marks (little- and big-endian).
_BOMS_UTF32 = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)
# Share of NUL and other control bytes above which a file is taken for binary.
_BINARY_SHARE = 0.05
# Chaos (mess) difference within which charset-normalizer's candidates tie.
_NEAR_TIE = 0.05
# Bytes UTF-8 cannot read, per valid multi-byte character, up to which text is damaged UTF-8
# (text in a legacy code page has next to no valid multi-byte characters).
_UTF8_DAMAGE = 1.0
# Where an HTML file's declared encoding is looked for, and how it is declared.
_HEAD_BYTES = 4096
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
# Characters an encoding cannot read, per other non-ASCII character it reads, up to which a page is
# in it with a few damaged bytes (cut mid-character, a stray byte), read with them replaced as a
# browser does; text in another encoding leaves far more.
_FEW_BAD = 0.01
# Multi-byte encodings of East Asian pages, tried when the detector names none (it gives up on such a
# page for one bad byte, or reads it in a single-byte code page, with or without a language).
_EAST_ASIAN = ("gb18030", "big5", "shift_jis", "euc_jp", "euc_kr")
# Fewest non-ASCII characters such a reading must hold: GB18030 reads any high byte before a letter
# as a character, so a short Latin text with an accent or two "fits" it without a bad byte.
_EAST_ASIAN_LEAST = 100
# Codecs of those scripts, as the detector names them: when it names one, it is right even if it
# finds no language (it often finds none in Japanese or short Korean).
_EAST_ASIAN_CODECS = frozenset(
    "gb18030 gb2312 gbk hz big5 big5hkscs cp950 shift_jis cp932 shift_jis_2004 shift_jisx0213 "
    "euc_jp euc_jis_2004 euc_jisx0213 iso2022_jp euc_kr cp949 johab iso2022_kr".split()
)
# Least share of an East Asian reading's non-ASCII characters that stand next to another: text in those
# scripts runs on; a few high bytes of a code page (curly quotes in English) read as East Asian make
# lone characters, each swallowing the letter after it.
_EAST_ASIAN_RUNS = 0.5
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")
# The 7-bit East Asian encodings, ASCII to any other reading: their escape sequences tell them (into JIS X 0208,
# 0212 or 0213, or half-width katakana; into KS X 1001), and each is read by the codecs that know the most sets.
_SEVEN_BIT = (
    (re.compile(rb"\x1b\$[@B]|\x1b\$\([DOPQ]|\x1b\(I"), ("iso2022_jp_2", "iso2022_jp_ext", "iso2022_jp_2004")),
    (re.compile(rb"\x1b\$\)C"), ("iso2022_kr",)),
)
_AS_LATIN_1 = "storyfilter-as-latin-1"
_BROWSERS_WINDOWS = frozenset({"cp1252", "cp1254"})
codecs.register_error(_AS_LATIN_1, lambda error: (error.object[error.start : error.end].decode("latin-1"), error.end))
# Declared encodings not trusted: their bytes would decode as something else entirely.
_UNTRUSTED_DECLARATIONS = frozenset({"utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be", "utf-7"})


def decode_bytes(raw: bytes) -> str:
    """Text from bytes: UTF-8 (with or without BOM), UTF-16 or UTF-32 by its BOM, else detected.

    Bytes no encoding fits well (damaged text) are read as UTF-8 with the
    bytes it cannot read replaced.

    Raises
    ------
    InputError
        When the bytes look binary rather than text.
    """
    if raw.startswith(codecs.BOM_UTF8):
        return raw[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace")
    if raw.startswith(_BOMS_UTF32):  # before UTF-16's: UTF-32-LE's BOM begins with UTF-16-LE's
        return raw.decode("utf-32", errors="replace")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16", errors="replace")
    wide = wide_text_without_bom(raw)  # (before UTF-8: ASCII in UTF-16 is valid UTF-8 too)
    if wide is not None:
        return wide
    if b"\x1b" in raw and raw.isascii():
        seven_bit = _seven_bit_east_asian(raw)
        if seven_bit is not None:
            return seven_bit
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    damaged = _damaged_utf8(raw)
    if damaged is not None:
        return damaged
    if _looks_binary(raw):
        wide = wide_text_of_binary_looking(raw)
        if wide is None:
            raise InputError("looks like a binary file, not text")
        return wide
    # Wide text (UTF-16, UTF-32) was looked for above, by its BOM or its NUL bytes; the detector's
    # UTF-16 readings of bytes with neither are short code-page texts of an even length ("\xc7a va?").
    found = [m for m in from_bytes(raw) if not m.encoding.startswith(WIDE_CODECS)]
    # An East Asian reading counts only if its characters run on: Latin text in a code page read so
    # gives lone characters between ASCII words ("S緌 Paulo"), the more often the shorter the text.
    matches = [m for m in found if m.encoding not in _EAST_ASIAN_CODECS or _runs_on(str(m))]
    if found and not matches:
        # The detector offered East Asian readings only, none of them running on: a short Latin text.
        return best_latin_reading(raw, raw.decode("cp1252", errors="replace"))
    best = matches[0] if matches else None
    if best is None or best.encoding not in _EAST_ASIAN_CODECS:
        # Nothing fits, or a single-byte code page does: a Chinese, Japanese or Korean page with a
        # damaged byte gets that (the detector tries no encoding that fails on a byte, and reads
        # such a page as Cyrillic or Thai), and nearly fits an East Asian encoding, which text in a
        # code page never does (a run of an odd number of high bytes before a space breaks it).
        east_asian = _east_asian(raw)
        if east_asian is not None:
            return east_asian
        if best is None:
            return raw.decode("utf-8", errors="replace")
    # Short Latin texts fit several code pages about equally; the web's
    # default legacy encoding (windows-1252) wins such a near tie, unless
    # another Latin code page's reading spells a language better.
    chosen = str(best)
    for match in matches:
        if "cp1252" in match.could_be_from_charset and match.chaos <= best.chaos + _NEAR_TIE:
            chosen = raw.decode("cp1252", errors="replace")
            break
    return best_latin_reading(raw, chosen) if is_latin_code_page(best.encoding) else chosen


def _seven_bit_east_asian(raw: bytes) -> str | None:
    """ASCII bytes read as ISO-2022-JP or -KR when their escape sequences say so (else None)."""
    for escapes, encodings in _SEVEN_BIT:
        if escapes.search(raw):
            for encoding in encodings:
                try:
                    return raw.decode(encoding)
                except UnicodeDecodeError:
                    continue
            # Cut mid-character, or a vendor's extra characters: the escapes say the encoding, so what it cannot
            # read is replaced, as browsers do, unless that is most of the text.
            text = raw.decode(encodings[0], errors="replace")
            bad = text.count("\ufffd")
            return text if _non_ascii(text) - bad > bad else None
    return None


def _runs_on(text: str) -> bool:
    """Whether most non-ASCII characters of ``text`` stand next to another (see :data:`_EAST_ASIAN_RUNS`)."""
    runs = [len(run) for run in _NON_ASCII_RUN.findall(text)]
    return sum(runs) > 0 and sum(n for n in runs if n > 1) >= _EAST_ASIAN_RUNS * sum(runs)


def _damaged_utf8(raw: bytes) -> str | None:
    """UTF-8 text with a few damaged bytes (replaced by U+FFFD), or None when the bytes are not that.

    UTF-8 it is when its valid multi-byte characters are at least as many as
    the bytes it cannot read (a legacy code page would turn each of them into
    two wrong characters; text in one has next to none). Text that is ASCII
    but for the bad bytes goes to the detector, which reads a legacy page's
    accents right.
    """
    text = raw.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    good = _non_ascii(text) - bad
    return text if bad <= _UTF8_DAMAGE * good else None


def decode_html(raw: bytes, declared: str | None = None) -> str:
    """The text of an HTML file: by its BOM, its declared charset, UTF-8, or detection.

    ``declared`` is the charset the page came with from outside (an HTTP
    ``Content-Type`` header, as a WARC holds it): it goes before the one
    the page's ``<meta>`` declares, under the same rules. Bytes that are
    valid UTF-8 (and not plain ASCII) are read as UTF-8 whatever is
    declared: a page saved or served as UTF-8 often keeps a stale Latin-1
    declaration, and text in a legacy encoding almost never happens to be
    valid UTF-8. A declared GB2312 or GBK is read as GB18030, which holds
    them both. A few bytes the declared charset cannot read (a page cut
    mid-character) are replaced, as browsers do; more mean the declaration
    is wrong (and so does UTF-8 with a few damaged bytes: a stale
    declaration). Never raises on text: bytes no encoding maps are
    replaced. Binary bytes raise :class:`InputError`, as for text files.
    """
    # Binary-looking bytes go to decode_bytes whatever is declared: it reads wide text without a BOM, refuses binary.
    if raw.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, *_BOMS_UTF32)) or _looks_binary(raw):
        return decode_bytes(raw)
    meta = _META_CHARSET.search(raw[:_HEAD_BYTES])
    for name in (declared, meta.group(1).decode("ascii", errors="replace") if meta else None):
        text = _as_declared(raw, name) if name else None
        if text is not None:
            return text
    return decode_bytes(raw)


def _as_declared(raw: bytes, name: str) -> str | None:
    """The bytes read in a declared charset (valid UTF-8 as UTF-8), or None when the declaration is no use."""
    codec = declared_codec(name)
    if codec is None:
        return None
    if codec.name in _UNTRUSTED_DECLARATIONS or not getattr(codec, "_is_text_encoding", True):
        return None  # a declaration to distrust, or no text encoding at all (base64, zlib, ...)
    if codec.name != "utf-8" and not raw.isascii():
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            pass  # not UTF-8: the declaration stands
    encoding = SUPERSETS.get(codec.name, codec.name)
    try:
        return raw.decode(encoding)
    except UnicodeError:
        pass
    if encoding in EXTENDED:
        encoding = EXTENDED[encoding]
        try:
            return raw.decode(encoding)
        except UnicodeError:
            pass
    if codec.name != "utf-8" and _damaged_utf8(raw) is not None:
        return None  # UTF-8 cut mid-character under a stale declaration: read as text is
    if encoding in _BROWSERS_WINDOWS and codec.name != encoding:  # declared Latin-1: it reads every byte
        return raw.decode(encoding, errors=_AS_LATIN_1)
    return _with_few_bad_bytes(raw, encoding)  # else the declaration is wrong: what comes next decides


def _with_few_bad_bytes(raw: bytes, encoding: str, least: int = 0) -> str | None:
    """The bytes read in ``encoding`` with what it cannot read replaced, or None when that is more than a few
    (or when fewer than ``least`` other non-ASCII characters are read).

    A codec that cannot replace (punycode, idna) reads nothing: None.
    """
    try:
        text = raw.decode(encoding, errors="replace")
    except (UnicodeError, LookupError):
        return None
    bad = text.count("\ufffd")
    good = _non_ascii(text) - bad
    return text if good >= least and bad <= _FEW_BAD * good else None


def _non_ascii(text: str) -> int:
    """How many characters of ``text`` are not ASCII."""
    return len(text) - len(text.encode("ascii", errors="ignore"))


def _east_asian(raw: bytes) -> str | None:
    """The bytes read in an East Asian encoding that fits all but a few of them, or None.

    Their multi-byte codes overlap (Big5 is nearly all valid GBK), so the
    first that nearly fits only repairs the bytes: the detector, given them
    without the bad ones, tells which of these encodings they are in (when
    it names another, a single-byte code page, the first stands).
    """
    for encoding in _EAST_ASIAN:
        text = _with_few_bad_bytes(raw, encoding, least=_EAST_ASIAN_LEAST)
        if text is None or _mostly_half_width_kana(text):
            continue
        best = from_bytes(text.replace("\ufffd", "").encode(encoding)).best()
        if best is not None and best.encoding in _EAST_ASIAN_CODECS and best.encoding != encoding:
            return _with_few_bad_bytes(raw, best.encoding) or text
        return text
    return None


def _mostly_half_width_kana(text: str) -> bool:
    """Whether half-width katakana are most of ``text``'s non-ASCII characters.

    Shift JIS reads each byte from 0xA1 to 0xDF alone as one of them, so
    text in a single-byte code page whose letters sit there (Thai in
    windows-874, Cyrillic, Greek) nearly fits it; Japanese pages write
    katakana full width, the half-width ones a few at most.
    """
    kana = len(_HALF_WIDTH_KANA.findall(text))
    return kana > _HALF_WIDTH_SHARE * _non_ascii(text)


_HALF_WIDTH_KANA = re.compile("[\uff61-\uff9f]")
_HALF_WIDTH_SHARE = 0.5


def _looks_binary(raw: bytes) -> bool:
    """Whether more than :data:`_BINARY_SHARE` of the first bytes are NUL or other control bytes (not tab or line ends)."""
    sample = raw[:8192]
    if not sample:
        return False
    control = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    return control / len(sample) > _BINARY_SHARE


_CONTROL_BYTES = bytes(range(9)) + bytes(range(14, 32))


# Byte order marks of the wide encodings (UTF-32's first: its little-endian mark begins with UTF-16's).
_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


class _Utf8Lines:
    """A JSONL stream in UTF-16 or UTF-32 (by its byte order mark) read as the UTF-8 lines the reader expects."""

    def __init__(self, stream: IO[bytes], encoding: str):
        self._text = io.TextIOWrapper(stream, encoding=encoding, errors="replace", newline="\n")

    def readline(self, size: int = -1) -> bytes:
        # (``size`` counts characters here: a line's bytes stay within four times it.)
        return self._text.readline(size).encode("utf-8", "surrogatepass")

    def __iter__(self) -> Iterator[bytes]:
        # A generator of this object's own, which holds it: a generator expression would not, and the
        # object, dropped by a caller that only iterates it, would detach the stream under it.
        for line in self._text:
            yield line.encode("utf-8", "surrogatepass")

    def __del__(self) -> None:
        try:
            self._text.detach()  # the stream is its opener's to close (standard input stays open)
        except ValueError:  # closed already
            pass


class _Unreadable:
    """A stream whose first bytes could not be read: reading its lines raises what reading them raised."""

    def __init__(self, error: BaseException):
        self._error = error

    def readline(self, size: int = -1) -> bytes:
        raise self._error

    def __iter__(self) -> Iterator[bytes]:
        raise self._error


def as_utf8_lines(stream: IO[bytes]) -> IO[bytes] | _Utf8Lines | _Unreadable:
    """``stream``, or its lines in UTF-8 when a byte order mark says it is UTF-16 or UTF-32."""
    peek = getattr(stream, "peek", None)
    try:
        head = peek(4)[:4] if peek is not None else b""
    except READ_ERRORS as error:  # not gzip after all, or cut short
        return _Unreadable(error)
    for mark, encoding in _WIDE_BOMS:
        if head.startswith(mark):
            return _Utf8Lines(stream, encoding)
    return stream
