"""UTF-16 and UTF-32 without a byte order mark: told from UTF-8, code pages and binary by their bytes.

Text in UTF-8 or a code page holds no NUL byte. Latin text in UTF-16 is
full of them (every other byte), as binary files are; text of a script
whose letters share a high byte (04 for Cyrillic, 06 Arabic, 09
Devanagari) has a NUL only per space, but that byte every other byte:
valid UTF-8, of control characters. Either is read as wide text when the
detector, or else a strict UTF-16 reading that is nearly all printable,
says it is. Chinese, Japanese and Korean in UTF-16 look like neither, and
binary besides: they are tried last, before bytes are refused as binary.
"""

from __future__ import annotations

from charset_normalizer import from_bytes

from ..errors import InputError

# How the detector names UTF-16 and UTF-32.
WIDE_CODECS = ("utf_16", "utf_32")
# Bytes of a file shown to the detector, to tell UTF-16 or UTF-32 without a BOM from binary.
_SAMPLE = 1 << 16
# Share of NUL bytes from which bytes are wide text (UTF-16, UTF-32) or binary, never UTF-8 or a
# code page; fewest bytes to be read as wide text at all, and least share of printable characters
# for a strict UTF-16 reading to count.
_NULS, _MINIMUM, _PRINTABLE = 0.2, 64, 0.95
# Share of the even (or odd) bytes under 0x20 from which bytes holding a NUL there may be UTF-16
# of a script whose letters share a high byte.
_LANE = 0.5
_CONTROLS = bytes(range(0x20))
# Least share of byte pairs that are NULs for bytes that look binary to be tried as UTF-16 of Chinese,
# Japanese or Korean: an ASCII character (a line end, a digit) per 200 characters.
_ASCII = 0.005


def wide_text_without_bom(raw: bytes) -> str | None:
    """The text of bytes in UTF-16 or UTF-32 without a BOM, or None when they are not.

    Raises
    ------
    InputError
        When the bytes are full of NULs and no wide reading fits: binary.
    """
    sample = raw[:_SAMPLE]
    if sample.count(0) >= _NULS * len(sample) > 0:
        wide = _wide_text(raw, sample)
        if wide is None:
            raise InputError("looks like a binary file, not text")
        return wide
    return _wide_text(raw, sample) if _controls_in_one_lane(sample) else None


def wide_text_of_binary_looking(raw: bytes) -> str | None:
    """The text of bytes about to be refused as binary (not UTF-8, many control bytes) that are UTF-16 without
    a BOM of Chinese, Japanese or Korean, or None.

    Such text has few NULs (the high bytes of its spaces, line ends, digits
    and punctuation), in both lanes now and then (一 is U+4E00), and its
    letters' low bytes are control bytes one time in eight: neither test
    above takes it, and the binary test does. Asked only here, after UTF-8
    failed (UTF-8 of Cyrillic reads as printable UTF-16 too), it is read
    when the sample holds a NUL per 200 characters or more and the
    detector says it is UTF-16; only the detector's word counts here
    (plain ASCII read as UTF-16 is printable Chinese: a binary file of
    short strings would pass a printable reading).
    """
    sample = raw[:_SAMPLE]
    if len(sample) < _MINIMUM or sample.count(0) < _ASCII * len(sample) / 2:
        return None
    return _detected(raw, sample, ("utf_16",))


def _controls_in_one_lane(sample: bytes) -> bool:
    """Whether the even or the odd bytes hold a NUL (a space in UTF-16) and are mostly under 0x20, as the
    high bytes of UTF-16 text in one script's block are."""
    if len(sample) < _MINIMUM or 0 not in sample:
        return False
    for lane in (sample[0::2], sample[1::2]):
        if 0 in lane and len(lane) - len(lane.translate(None, _CONTROLS)) >= _LANE * len(lane):
            return True
    return False


def _wide_text(raw: bytes, sample: bytes) -> str | None:
    """Text in UTF-16 or UTF-32 without a BOM, or None (``sample``: the first bytes, which tell).

    What the detector says, else (pages full of icon-font characters put it
    off) a strict UTF-16 reading whose characters are nearly all printable.
    """
    if len(sample) < _MINIMUM:
        return None
    detected = _detected(raw, sample, WIDE_CODECS)
    if detected is not None:
        return detected
    # Latin text in UTF-16 has its NUL bytes first in each pair when big-endian, second when little-endian.
    big_endian = sample[0::2].count(0) > sample[1::2].count(0)
    for encoding in ("utf-16-be", "utf-16-le") if big_endian else ("utf-16-le", "utf-16-be"):
        try:
            text = sample[: len(sample) // 2 * 2].decode(encoding)
        except UnicodeDecodeError:
            continue
        if sum(c.isprintable() or c.isspace() for c in text) >= _PRINTABLE * len(text):
            return raw.decode(encoding, errors="replace")
    return None


def _detected(raw: bytes, sample: bytes, codecs: tuple[str, ...]) -> str | None:
    """The bytes decoded as the detector reads ``sample``, when it names one of ``codecs``; else None."""
    best = from_bytes(sample).best()
    return (
        raw.decode(best.encoding, errors="replace") if best is not None and best.encoding.startswith(codecs) else None
    )
