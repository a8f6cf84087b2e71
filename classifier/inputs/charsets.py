"""Charsets as pages declare them, read as browsers read them (the WHATWG encoding standard).

A page's declared charset names what browsers decode it with, which is
not always Python's codec of that name: browsers know labels Python does
not (``windows-874``, ``x-sjis``), read some encodings as a larger one
that holds them (ISO-8859-1 as windows-1252, GBK as GB18030), and read a
few others with their vendors' extra characters (EUC-KR as windows-949).
:mod:`classifier.inputs.decoding` decodes declared pages with these tables.
"""

from __future__ import annotations

import codecs

# Declared encodings read as the larger encoding that holds them. Browsers read a page declared
# ISO-8859-1 as windows-1252, ISO-8859-9 as windows-1254 and TIS-620 as windows-874 (the
# WHATWG encoding standard): such pages' curly quotes and dashes, bytes 0x80 to 0x9F, are no control
# characters. (The decoder reads the few bytes windows-1252 and -1254 leave undefined as ISO-8859-1 does.)
SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "ascii": "cp1252",
    "iso8859-1": "cp1252",
    "iso8859-9": "cp1254",
    "tis-620": "cp874",
    "iso8859-11": "cp874",
}
# Declared encodings whose pages browsers read in a larger encoding that Python's codec of the name
# lacks: Korean (windows-949's extra syllables), Japanese (the NEC and IBM extensions, such as
# circled digits) and Traditional Chinese (Hong Kong's characters). Tried when the declared codec
# fails on a byte, before any byte is given up as damaged.
EXTENDED = {"euc_kr": "cp949", "shift_jis": "cp932", "big5": "big5hkscs"}
# Labels of the WHATWG encoding standard that browsers know and Python's codecs do not, as the codec to read.
BROWSER_LABELS = {
    **dict.fromkeys(("windows-874", "dos-874"), "cp874"),
    **{f"x-cp125{n}": f"cp125{n}" for n in range(9)},
    **dict.fromkeys(("windows-31j", "x-sjis"), "cp932"),
    "windows-949": "cp949",
    "koi8-ru": "koi8_u",
    **dict.fromkeys(("iso-8859-8-i", "csiso88598i", "logical"), "iso8859_8"),
    **dict.fromkeys(("x-mac-cyrillic", "x-mac-ukrainian"), "mac_cyrillic"),
    **dict.fromkeys(("x-mac-roman", "macintosh", "csmacintosh"), "mac_roman"),
    **dict.fromkeys(("x-gbk", "gb_2312-80", "csgb2312", "csiso58gb231280"), "gb18030"),
    **dict.fromkeys(("cn-big5", "x-x-big5"), "big5hkscs"),
    **dict.fromkeys(("x-euc-jp", "cseucpkdfmtjapanese"), "euc_jp"),
    **dict.fromkeys(("unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8", "x-unicode20utf8"), "utf-8"),
}


def declared_codec(name: str) -> codecs.CodecInfo | None:
    """The codec of a declared charset name (a browser's label too), or None when no codec is known by it."""
    try:
        return codecs.lookup(BROWSER_LABELS.get(name.strip().lower(), name))
    except LookupError:
        return None
