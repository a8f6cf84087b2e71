"""Raw shape measurements of each line in a batch: counts of characters, words, dates, marks.

:func:`shape_table` measures every line of a batch at once: the batch's
text is one array of code points, character classes come from a lookup
table, per-line counts are sums over line slices, and the few regular
expressions run only on the lines that can match. No Python loop runs per
character or per word. :mod:`classifier.features.lines` turns these counts
into the features the classifier sees.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from ..segment.text import Segment
from .pages import PageIndex
from .tokens import (
    ALNUM,
    CLOSER,
    DIGIT,
    LETTER,
    LOWER,
    NOT_A_DIGIT,
    PUNCT,
    SOLO,
    SPACE,
    STOP,
    UPPER,
    WIDE_STOP,
    HashSet,
    LineBatch,
    digit_values,
    hash_words,
    is_member,
)

_BULLETS = "*\u2022\u00b7\u25aa\u25cf\u25ba\u2023\u2043\u2013-+>\u203a\u00bb"
# Characters counted one by one: (name, characters).
COUNTED = (
    ("comma", ","),
    ("colon", ":"),
    ("pipe", "|"),
    ("at", "@"),
    ("hash", "#"),
    ("copyright", "\u00a9\u00ae\u2122"),
    ("arrow", "\u00bb\u203a>\u2192\u25b8\u25ba"),
    ("bullet", "\u2022\u00b7\u25aa\u25cf"),
    ("paren", "()[]"),
    ("currency", "$\u20ac\u00a3\u00a5"),
    ("slash", "/\\"),
    ("dash", "-\u2013\u2014"),
    ("quote", '"\u201c\u201d\u00ab\u00bb'),
)

# Shape columns about the line's ends, which clipping keeps whole.
_LINE_ENDS = frozenset({"ends_sentence", "ends_colon", "ends_digit", "starts_upper", "starts_digit", "starts_bullet"})
# Function words ("the", "of", "and", "in", "to") mark running prose; short
# words without capitals or digits stand in for them in any language written
# with spaces (in cases or not). In scripts without spaces, where every
# character is a word, these frequent ones stand in for them (Chinese
# particles and pronouns, Japanese particles and verb endings).
_FUNCTION_WORD_LETTERS = 3
_FUNCTION_CHARACTERS = "的了是在和有也就都而与及着被把从对为以之其所这那他她们不会将已但并或等于向到说个中の は が を に で と も へ や た て し る れ す ま い".replace(
    " ", ""
)
# Month names and their abbreviations, as a date's tell-tale words, in English, German,
# French, Spanish, Portuguese, Italian, Dutch, the Nordic languages, Polish, Czech,
# Romanian, Turkish, Indonesian, Russian, Ukrainian, Greek, Arabic (three calendars'
# names) and Hindi; abbreviations that are common words elsewhere ("set", "out", "des") left out.
_MONTHS = """
jan feb mar apr may jun jul aug sep sept oct nov dec january february march april june july august
september october november december
januar jänner februar märz mai juni juli oktober dezember mär okt dez
janvier février mars avril juin juillet août septembre octobre novembre décembre janv févr avr juil déc
enero febrero marzo abril mayo junio julio agosto septiembre setiembre octubre noviembre diciembre ene abr ago dic
janeiro fevereiro março maio junho julho setembro outubro novembro dezembro fev
gennaio febbraio aprile maggio giugno luglio settembre ottobre dicembre gen mag giu lug ott
maart augustus mei augusti
styczeń luty marzec kwiecień maj czerwiec lipiec sierpień wrzesień październik listopad grudzień
stycznia lutego marca kwietnia maja czerwca lipca sierpnia września października listopada grudnia
leden únor březen duben květen červen červenec srpen září říjen prosinec
ledna února března dubna května června července srpna října listopadu prosince
ianuarie februarie martie aprilie iunie iulie septembrie octombrie noiembrie decembrie
ocak şubat mart nisan mayıs haziran temmuz ağustos eylül ekim kasım aralık
januari februari maret agustus desember
январь февраль март апрель май июнь июль август сентябрь октябрь ноябрь декабрь
января февраля марта апреля мая июня июля августа сентября октября ноября декабря
янв фев апр июн июл авг сен сент окт ноя нояб дек
січень лютий березень квітень травень червень липень серпень вересень жовтень грудень
січня лютого березня квітня травня червня липня серпня вересня жовтня листопада грудня
ιανουαρίου φεβρουαρίου μαρτίου απριλίου μαΐου ιουνίου ιουλίου αυγούστου σεπτεμβρίου οκτωβρίου νοεμβρίου δεκεμβρίου
يناير فبراير مارس أبريل إبريل مايو يونيو يوليو أغسطس سبتمبر أكتوبر نوفمبر ديسمبر
كانون شباط آذار نيسان أيار حزيران تموز أيلول تشرين
جانفي فيفري أفريل جوان جويلية أوت يوليوز غشت شتنبر نونبر دجنبر
जनवरी फ़रवरी फरवरी मार्च अप्रैल मई जून जुलाई अगस्त सितंबर सितम्बर अक्टूबर अक्तूबर नवंबर नवम्बर दिसंबर दिसम्बर
""".split()
# Year, month and day signs after a number, in Chinese, Japanese and Korean dates ("2024年3月5日").
_DATE_SIGNS = "年月日년월일"
# A wire story's last line may end with the agency after the full stop:
# "...said on Monday.—Agency", "...on Monday. (Agency)". The sentence still ends.
_SIGNOFF = re.compile(
    r"[.!?\"\u201d\u2019]\s*(?:[-\u2013\u2014]+\s*|\(\s*)[A-Z][\w&.'-]*(?:\s+[A-Z][\w&.'-]*){0,3}\)?$"
)
# How far from the line end a sign-off is looked for.
_SIGNOFF_CHARS = 60
# A dateline opens a story with a place in capitals ("AMARA, June 14:", "МОСКВА, 3 марта —").
_DATELINE = re.compile(
    r"^([^\W\d_][^\W\d_ .'-]*(?:[ .'-]+[^\W\d_]+)*)\s*(?:,\s*[^\W\d_][\w .]*)?\s*(?:[,:(\u2014\u2013-]|$)"
)


@lru_cache(maxsize=1)
def _group_table() -> np.ndarray:
    """For each code point of the basic plane, its counted group (1-based), or 0."""
    groups = np.zeros(0x10000, dtype=np.uint8)
    for number, (_, chars) in enumerate(COUNTED, 1):
        for char in chars:
            groups[ord(char)] = number
    return groups


@lru_cache(maxsize=1)
def _month_hashes() -> HashSet:
    return HashSet.of(hash_words(_MONTHS))


def _digits_at(points: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The digit value of the characters at ``at``; :data:`NOT_A_DIGIT` for any other character."""
    codes = points[at]
    values = digit_values()[np.minimum(codes, 0xFFFF)].astype(np.int64)
    values[codes > 0xFFFF] = NOT_A_DIGIT
    return values


def _where_among(points: np.ndarray, chars: str) -> np.ndarray:
    """Where ``points`` holds one of ``chars``: looked for only among the code points as high as the
    lowest of them (none on most pages when they are CJK characters), in order."""
    codes = [ord(c) for c in chars]
    high = np.flatnonzero(points >= min(codes))
    return high[np.isin(points[high], codes)]


def _date_parts(batch: LineBatch) -> tuple[np.ndarray, np.ndarray]:
    """Per line, how many date parts (years 1900-2099 in digits of any script, month names, the
    year, month and day signs of CJK dates) and clock times it holds."""
    n = len(batch)
    points, flags = batch.points, batch.flags
    is_digit = (flags & DIGIT) != 0
    # Runs of exactly four digits that read 19xx or 20xx.
    run_start = is_digit.copy()
    run_start[1:] &= ~is_digit[:-1]
    firsts = np.flatnonzero(run_start)
    firsts = firsts[firsts + 4 <= len(points)]
    four = is_digit[firsts + 1] & is_digit[firsts + 2] & is_digit[firsts + 3]
    four &= (firsts + 4 == len(points)) | ~is_digit[np.minimum(firsts + 4, len(points) - 1)]
    century = _digits_at(points, firsts) * 10 + _digits_at(points, np.minimum(firsts + 1, len(points) - 1))
    years = firsts[four & ((century == 19) | (century == 20))]
    line, hashes, is_word = batch.tokens
    months = line[is_word & is_member(hashes, _month_hashes())]
    signs = _where_among(points, _DATE_SIGNS)
    signs = signs[signs > 0]
    signs = signs[is_digit[signs - 1]]
    parts = (
        np.bincount(batch.line_of(years), minlength=n)
        + np.bincount(months, minlength=n)
        + np.bincount(batch.line_of(signs), minlength=n)
    )
    # Clock times: a colon between digits ("9:30", "14:05").
    colons = np.flatnonzero(points == ord(":"))
    colons = colons[(colons > 0) & (colons + 2 < len(points))]
    clock = is_digit[colons - 1] & is_digit[colons + 1] & is_digit[colons + 2]
    times = np.bincount(batch.line_of(colons[clock]), minlength=n)
    return parts.astype(np.float64), times.astype(np.float64)


def _function_word_counts(batch: LineBatch) -> np.ndarray:
    """Function words in each line, roughly: short words with no capital or digit (in scripts
    with spaces), and frequent particles and pronouns (in scripts without)."""
    flags = batch.flags
    word_start = batch.word_starts
    starts = np.flatnonzero(word_start)
    wordish = (flags & ALNUM) != 0
    ends_mask = wordish.copy()
    ends_mask[:-1] &= ~wordish[1:] | word_start[1:]
    ends = np.flatnonzero(ends_mask)
    # Words holding a capital or a digit: find those characters' words.
    marked = np.flatnonzero(flags & (UPPER | DIGIT))
    lower_only = np.ones(len(starts), dtype=bool)
    lower_only[np.searchsorted(starts, marked, side="right") - 1] = False
    short = (ends - starts) < _FUNCTION_WORD_LETTERS
    spaced = (flags[starts] & SOLO) == 0
    chosen = starts[lower_only & short & spaced]
    particles = _where_among(batch.points, _FUNCTION_CHARACTERS)
    counts = np.bincount(batch.line_of(chosen), minlength=len(batch))
    return (counts + np.bincount(batch.line_of(particles), minlength=len(batch))).astype(np.float64)


def _is_dateline(text: str) -> bool:
    """Whether a line opens with a place in capitals, then a comma, colon, bracket or dash (or nothing)."""
    found = _DATELINE.match(text)
    return found is not None and len(found.group(1)) >= 3 and found.group(1).isupper()


def _page_repeats(texts: Sequence[str], index: PageIndex) -> tuple[np.ndarray, np.ndarray]:
    """For each line, how many other lines of its page have the same text, and how many come before it.

    Pages often carry a block twice (a teaser list in the header and the
    footer, or the whole article in a second, hidden copy); the later copy
    is not part of the story.
    """
    keys = np.fromiter(map(hash, texts), dtype=np.int64, count=len(texts))
    # Mix the page into the key; int64 wrap-around is harmless for grouping.
    with np.errstate(over="ignore"):
        keys = keys * np.int64(1_000_003) + index.page
    _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    order = np.argsort(inverse, kind="stable")
    group_start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    earlier = np.empty(len(texts), dtype=np.float64)
    earlier[order] = np.arange(len(texts)) - group_start[inverse[order]]
    return counts[inverse].astype(np.float64) - 1.0, earlier


def shape_table(segments: Sequence[Segment], batch: LineBatch, index: PageIndex) -> dict[str, np.ndarray]:
    """Raw per-line shape measurements of a batch, as named columns."""
    texts = batch.texts
    n = len(texts)
    if n == 0:
        return {}
    points, flags, starts = batch.points, batch.flags, batch.starts
    word_start = batch.word_starts
    # A sentence ends at . ! ? followed by a space, a closing quote or the line end.
    stops = np.flatnonzero(flags & STOP)
    following = np.minimum(stops + 1, len(points) - 1)
    ends_here = ((flags[following] & (SPACE | CLOSER)) != 0) | (points[following] == 10) | (stops + 1 == len(points))
    ends_here |= (flags[stops] & WIDE_STOP) != 0  # 。！？ end a sentence with no space after them
    sentence_ends = np.bincount(batch.line_of(stops[ends_here]), minlength=n).astype(np.float64)
    last = starts + batch.lengths - 1
    last_flags = flags[last]
    before_last = flags[np.maximum(last - 1, starts)]
    words = batch.per_line(word_start)
    digits = batch.per_line((flags & DIGIT) != 0)
    columns: dict[str, np.ndarray] = {
        "words": words,
        "upper": batch.per_line((flags & UPPER) != 0),
        "cased": batch.per_line((flags & (UPPER | LOWER)) != 0),
        "solo": batch.per_line((flags & SOLO) != 0),
        "letters": batch.per_line((flags & LETTER) != 0),
        "digits": digits,
        "punct": batch.per_line((flags & PUNCT) != 0),
        "sentences": sentence_ends,
        "cap_words": batch.per_line(word_start & ((flags & UPPER) != 0)),
        "ends_sentence": (
            ((last_flags & STOP) != 0) | (((last_flags & CLOSER) != 0) & ((before_last & STOP) != 0))
        ).astype(np.float64),
        "ends_colon": (points[last] == ord(":")).astype(np.float64),
        "ends_digit": ((last_flags & DIGIT) != 0).astype(np.float64),
        "starts_upper": ((flags[starts] & UPPER) != 0).astype(np.float64),
        "starts_digit": ((flags[starts] & DIGIT) != 0).astype(np.float64),
        "starts_bullet": np.isin(points[starts], [ord(c) for c in _BULLETS]).astype(np.float64),
    }
    groups = np.where(points < 0x10000, _group_table()[np.minimum(points, 0xFFFF)], 0)
    marked = np.flatnonzero(groups)
    width = len(COUNTED)
    counted = np.bincount(batch.line_of(marked) * width + groups[marked] - 1, minlength=n * width)
    counted = counted.reshape(n, width).astype(np.float64)
    for column, (name, _) in enumerate(COUNTED):
        columns[name] = counted[:, column]
    columns["stopwords"] = _function_word_counts(batch)
    # Counts over a clipped line stand for counts over the whole line.
    for name in list(columns):
        if name not in _LINE_ENDS:
            columns[name] = columns[name] * batch.scale
    columns["chars"] = batch.lengths * batch.scale
    columns["dates"], columns["times"] = _date_parts(batch)
    # Dots inside words (example.com, file.html) betray links and addresses.
    dots = stops[(points[stops] == ord(".")) & (stops > 0) & (stops + 1 < len(points))]
    inner = ((flags[dots - 1] & ALNUM) != 0) & ((flags[dots + 1] & LETTER) != 0)
    columns["links"] = np.bincount(batch.line_of(dots[inner]), minlength=n) + columns["at"]
    # A sign-off can only follow a sentence end in a line that does not end one.
    has_stop = np.bincount(batch.line_of(stops), minlength=n) > 0
    open_ended = np.flatnonzero((columns["ends_sentence"] == 0) & has_stop)
    signed = np.fromiter(
        (_SIGNOFF.search(texts[i][-_SIGNOFF_CHARS:]) is not None for i in open_ended), dtype=bool, count=len(open_ended)
    )
    columns["signoff"] = np.zeros(n)
    columns["signoff"][open_ended[signed]] = 1.0
    columns["ends_sentence"] = np.maximum(columns["ends_sentence"], columns["signoff"])
    # A dateline opens with a word in capitals ("AMARA, June 14:"): its first two letters are capitals.
    capital_start = np.flatnonzero(
        ((flags[starts] & UPPER) != 0) & ((flags[np.minimum(starts + 1, len(points) - 1)] & UPPER) != 0)
    )
    columns["dateline"] = np.zeros(n)
    opened = np.fromiter((_is_dateline(texts[i]) for i in capital_start), dtype=bool, count=len(capital_start))
    columns["dateline"][capital_start[opened]] = 1.0
    columns["repeats"], columns["earlier_copies"] = _page_repeats(batch.full_texts, index)
    columns["gap"] = index.gap.astype(np.float64)
    columns["indent"] = index.indent.astype(np.float64)
    return columns
