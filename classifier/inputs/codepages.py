"""Which Latin code page a legacy text is in: the one whose reading spells a language.

Text in a single-byte code page carries no mark of which one. Western
European (windows-1252), Central European (windows-1250, ISO-8859-2),
Turkish (windows-1254), Baltic (windows-1257) and South-Eastern European
(ISO-8859-16) pages share ASCII and differ in their accented letters: a
Polish ``ł`` read as windows-1252 is ``³``, a Turkish ``ş`` is ``þ``, a
Czech ``ř`` is ``ø``. The detector's measures (how chaotic, how coherent a
reading is) often tie between such readings, and a tie went to
windows-1252, the web's default. Here each reading is read for letters:
its non-ASCII characters are checked against the alphabets of the
languages written in these code pages, and the reading that one language
spells with the fewest characters left over wins. Punctuation (quotes,
dashes, the euro sign) reads the same in all of them and decides nothing;
a symbol or a digit sign against a letter (``zatrzyma³a``), or a control
character, is a character left over.
"""

from __future__ import annotations

import re
import unicodedata

# The single-byte code pages of Latin-script languages that are weighed against each other.
CODE_PAGES = ("cp1252", "cp1250", "iso8859_2", "cp1254", "cp1257", "iso8859_16")
# Names the detector gives encodings of that family (and aliases of the above).
_LATIN_FAMILY = frozenset(
    (
        *CODE_PAGES,
        *("latin_1", "iso8859_1", "iso8859_3", "iso8859_4", "iso8859_9", "iso8859_10", "iso8859_13", "iso8859_14"),
        *("iso8859_15", "cp1258", "cp850", "cp852", "cp857", "cp858", "cp775", "mac_roman", "mac_latin2", "hp_roman8"),
    )
)
# Signs that are written against a word or a letter: ``Brand®``, ``°C``, ``¿Qué``, ``l·l``, ``1º``.
_WRITTEN_AGAINST_WORDS = frozenset("®©™℠°′″¿¡·…ªº")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
# The accented letters of languages written in those code pages (lower case; ASCII letters go without saying).
_ALPHABETS = {
    "German": "äöüß",
    "French": "àâæçéèêëîïôœùûüÿ",
    "Spanish": "áéíóúñü",
    "Portuguese": "áâãàçéêíóôõú",
    "Italian": "àèéìíîòóùú",
    "Catalan": "àçèéíïòóúü·",
    "Dutch": "áéíóúëïèäöü",
    "Danish and Norwegian": "æøåéèêóòô",
    "Swedish and Finnish": "åäöéšž",
    "Icelandic": "áðéíóúýþæö",
    "Estonian": "äöõüšž",
    "Turkish": "çğıöşüâîû",
    "Azerbaijani": "çəğıöşü",
    "Polish": "ąćęłńóśźż",
    "Czech": "áčďéěíňóřšťúůýž",
    "Slovak": "áäčďéíĺľňóôŕšťúýž",
    "Hungarian": "áéíóöőúüű",
    "Romanian": "ăâîșțşţ",
    "Croatian, Serbian, Bosnian, Slovenian": "čćđšž",
    "Albanian": "çë",
    "Latvian": "āčēģīķļņšūž",
    "Lithuanian": "ąčęėįšųūž",
    "Maltese": "ċġħż",
    "Irish": "áéíóú",
}
_LETTER_SETS = tuple(frozenset(letters) for letters in _ALPHABETS.values())


def is_latin_code_page(encoding: str) -> bool:
    """Whether the detector's ``encoding`` is one of the single-byte code pages of Latin-script languages."""
    return encoding.lower().replace("-", "_") in _LATIN_FAMILY


def best_latin_reading(raw: bytes, chosen: str) -> str:
    """``raw`` read in the Latin code page whose reading one language spells best; ``chosen`` (a reading) on a tie."""
    best, fewest = chosen, left_over(chosen)
    if not fewest:
        return chosen
    for encoding in CODE_PAGES:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        count = left_over(text)
        if count < fewest:
            best, fewest = text, count
    return best


def left_over(text: str) -> int:
    """How many of ``text``'s non-ASCII characters the language that spells most of them leaves over."""
    letters: dict[str, int] = {}
    others = 0
    for found in _NON_ASCII.finditer(text):
        at, char = found.start(), found.group()
        kind = unicodedata.category(char)
        if kind[0] == "L" and char not in _WRITTEN_AGAINST_WORDS:
            lower = char.lower()[0]
            if lower >= "\x80":
                letters[lower] = letters.get(lower, 0) + 1
        elif kind == "Cc" or (_kept_from_letters(kind, char) and _against_a_letter(text, at)):
            others += 1
    if not letters:
        return others
    return others + min(sum(n for letter, n in letters.items() if letter not in alphabet) for alphabet in _LETTER_SETS)


def _kept_from_letters(kind: str, char: str) -> bool:
    """Whether a character is one no word is written against: a symbol, a digit sign (``³``), a mark such as ``¶``.

    Quotes, brackets and dashes are written against words; so are
    currency signs and those of :data:`_WRITTEN_AGAINST_WORDS`.
    """
    if char in _WRITTEN_AGAINST_WORDS:
        return False
    return (kind[0] in "SN" and kind != "Sc") or kind == "Po"


def _against_a_letter(text: str, at: int) -> bool:
    """Whether the symbol at ``at`` touches a letter: inside or at the edge of a word, as no symbol is written."""
    return any(0 <= near < len(text) and text[near].isalpha() for near in (at - 1, at + 1))
