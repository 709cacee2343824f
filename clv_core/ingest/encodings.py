"""Text encodings and delimiters a user can choose, and the check that decoded text is not garbled.

Detection (:func:`clv_core.ingest.sniff.decode_text`) reads UTF-8 and UTF-16 exactly, and any other bytes as
Windows-1252, which never fails but is wrong for files saved in another single-byte code page: a Russian export in
Windows-1251 reads ``Москва`` as ``Ìîñêâà``. :func:`garbled` recognises such text (and UTF-8 converted twice,
``JosÃ©``), says so, and names the encoding that reads the same bytes as words of one alphabet.

>>> data = "customer,city\\n1,Москва\\n2,Санкт-Петербург\\n3,Новосибирск\\n".encode("cp1251")
>>> found = garbled(data.decode("cp1252"), data, "Windows-1252")
>>> found.encoding, found.sentence.split(":")[0]
('cp1251', 'Text looks garbled (Ìîñêâà)')
>>> garbled("customer,city\\n1,Zürich\\n2,São Paulo\\n", "x".encode(), "UTF-8") is None
True
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass

from clv_core.errors import DataQualityError

#: Encodings offered by name, most common first: (Python codec, what a user recognises).
ENCODINGS = (
    ("utf-8", "UTF-8"),
    ("cp1252", "Windows-1252 (Western Europe)"),
    ("latin-1", "Latin-1 (ISO-8859-1)"),
    ("cp1251", "Windows-1251 (Cyrillic)"),
    ("koi8-r", "KOI8-R (Russian)"),
    ("cp1250", "Windows-1250 (Central Europe)"),
    ("cp1253", "Windows-1253 (Greek)"),
    ("cp1254", "Windows-1254 (Turkish)"),
    ("cp1255", "Windows-1255 (Hebrew)"),
    ("cp1256", "Windows-1256 (Arabic)"),
    ("cp1257", "Windows-1257 (Baltic)"),
    ("utf-16", "UTF-16"),
    ("shift_jis", "Shift JIS (Japanese)"),
    ("gb18030", "GB 18030 (Chinese)"),
    ("big5", "Big5 (Traditional Chinese)"),
    ("euc-kr", "EUC-KR (Korean)"),
    ("mac-roman", "Mac Roman"),
)
ENCODING_LABELS = dict(ENCODINGS)

#: Delimiters offered by name: what a user types or picks → the character.
DELIMITERS = {",": ",", ";": ";", "tab": "\t", "|": "|", "space": " "}
_DELIMITER_NAMES = {**DELIMITERS, "\\t": "\t", "\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|", " ": " "}


def codec(name: str) -> str:
    """The Python codec a user's encoding name means (``CP1251``, ``windows-1251`` and ``cp1251`` are one), refused
    when Python has no such text encoding.

    >>> codec("Windows-1251"), codec("UTF8")
    ('cp1251', 'utf-8')
    >>> codec("rot13")
    Traceback (most recent call last):
    ...
    clv_core.errors.DataQualityError: 'rot13' is not a text encoding. Common ones: utf-8, cp1252, latin-1, cp1251, \
koi8-r, cp1250.
    """
    try:
        info = codecs.lookup(name.strip())
    except (LookupError, AttributeError):
        info = None
    if info is None or not _CHARSET.fullmatch(info.name):  # punycode, idna, utf-7, rot13, base64: no file's
        common = ", ".join(c for c, _ in ENCODINGS[:6])
        raise DataQualityError(f"{name!r} is not a text encoding. Common ones: {common}.")
    return _CODEC_NAMES.get(info.name, info.name)


#: Character sets a file can be written in, by codecs.lookup's canonical name (not idna, punycode, utf-7, the
#: escape codecs or the undefined one, which are no file encoding and some of which decode in quadratic time).
_CHARSET = re.compile(
    r"utf-(8|16|32)(-[lb]e)?|utf-8-sig|ascii|latin-1|iso8859-\d+|cp\d+|mac-[a-z]+|koi8-[a-z]+|kz1048|ptcp154|"
    r"tis-620|shift_jis(x0213|_2004)?|euc_(jp|kr|jis_2004|jisx0213)|gb2312|gbk|gb18030|big5(hkscs)?|johab|hz|"
    r"iso2022_(jp(_\d|_ext)?|kr)|cp932|cp949|cp950"
)
#: codecs.lookup's canonical names → the names this module lists.
_CODEC_NAMES = {"iso8859-1": "latin-1", "mac-roman": "mac-roman", "euc_kr": "euc-kr"}


def delimiter(name: str) -> str:
    """The delimiter character a user's name means (``tab``, ``\\t``, ``;`` …); one character otherwise.

    >>> delimiter("tab"), delimiter(";"), delimiter("semicolon")
    ('\\t', ';', ';')
    """
    if name in _DELIMITER_NAMES:
        return _DELIMITER_NAMES[name]
    key = name.strip().lower()
    if key in _DELIMITER_NAMES:
        return _DELIMITER_NAMES[key]
    if len(name) == 1 and name not in "\r\n\"'" and name.isprintable():
        return name
    raise DataQualityError(f"{name!r} is not a delimiter: give one character, or tab or space.")


@dataclass(frozen=True)
class Garbled:
    """Decoded text that looks wrong: what was seen, and the encoding that likely reads it right (None: unknown)."""

    sentence: str
    encoding: str | None


#: UTF-8 bytes read as Windows-1252 or Latin-1: "Ã©" for é, "â€™" for ’.
_TWICE = re.compile("Ã[\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u2018-\u2122]|â€[\u0080-\u2122]")
#: A word of three or more letters all from Latin-1's accented range (À–ÿ), as single-byte Cyrillic, Greek,
#: Hebrew or Arabic text read as Windows-1252 gives; Western words mix them with plain letters.
_ACCENTED_WORD = re.compile("[\u00c0-\u00ff]{3,}")
_WORD = re.compile(r"[^\W\d_]{3,}")
#: Single-byte encodings of non-Latin alphabets tried for such text, most common first.
_CANDIDATES = ("cp1251", "koi8-r", "cp1253", "cp1255", "cp1256")
#: Each alphabet's ten most frequent letters (lower case) in ordinary text: two thirds of the letters of real
#: Russian, Greek, Hebrew or Arabic text, a third or less of bytes read in the wrong code page.
_COMMON = {
    "CYRILLIC": set("оеаинтсрвл"),
    "GREEK": set("αοιετσνηυρ"),
    "HEBREW": set("יוהלרמאבתש"),
    "ARABIC": set("الیمونرتبهي"),
}
#: How much better than the runner-up the best reading must be to be offered (else the user chooses).
_MARGIN = 1.25
_SAMPLE_CHARS = 200_000


def garbled(text: str, data: bytes, encoding: str, chosen: str | None = None) -> Garbled | None:
    """Whether ``text`` (the start of ``data`` decoded as ``encoding``; ``chosen`` when the user chose that codec)
    looks garbled, and which encoding is likely right; None when it looks like text."""
    text = text[:_SAMPLE_CHARS]
    twice = _TWICE.findall(text)
    if len(twice) >= 3:
        example = _example(text, _TWICE)
        return Garbled(
            f"Text looks garbled ({example}): it reads like UTF-8 that was converted to UTF-8 a second time "
            "(é saved as Ã©). Export the file again from its source as UTF-8.",
            None,
        )
    if chosen in _CANDIDATES:  # chosen by hand: is it the reading that gives words?
        likely = likely_encoding(data)
        if likely is None or likely == chosen:
            return None
        return _suggest(text, data, f"{ENCODING_LABELS.get(chosen, chosen)}, as chosen", likely)
    if not encoding.lower().startswith(("windows-1252", "latin-1", "cp1252")):
        return None
    words = _WORD.findall(text)
    accented = [w for w in words if _ACCENTED_WORD.fullmatch(w)]
    foreign = [w for w in words if not w.isascii()]
    if len(accented) < 3 or len(accented) < 0.5 * len(foreign):
        return None
    return _suggest(text, data, encoding, likely_encoding(data), example=accented[0][:20])


def _suggest(text: str, data: bytes, encoding: str, likely: str | None, example: str | None = None) -> Garbled:
    example = example or next((w for w in _WORD.findall(text) if not w.isascii()), "")[:20]
    if likely is None:
        return Garbled(
            f"Text looks garbled ({example}): the file is probably not in {encoding}. Choose its encoding in the "
            "reading options.",
            None,
        )
    sample = data[:_SAMPLE_CHARS].decode(likely, errors="replace")
    fixed = next((w for w in _WORD.findall(sample) if not w.isascii()), "")[:20]
    return Garbled(
        f"Text looks garbled ({example}): it was read as {encoding}, but the bytes read as "
        f"{ENCODING_LABELS.get(likely, likely)} give words ({fixed}). Choose that encoding to read it right.",
        likely,
    )


def likely_encoding(data: bytes) -> str | None:
    """The single-byte encoding under which the file's non-ASCII words are words: letters of one alphabet (other
    than Latin), the alphabet's common letters as often as in real text; None when no reading is clearly best."""
    scores = {}
    sample = data[:_SAMPLE_CHARS]
    for candidate in _CANDIDATES:
        try:
            text = sample.decode(candidate)
        except UnicodeDecodeError:
            continue
        words = [w.lower() for w in _WORD.findall(text) if not w.isascii()]
        if not words:
            continue
        scripts = [_script(w) for w in words]
        main = max(set(scripts), key=scripts.count)
        if main not in _COMMON:
            continue
        letters = [ch for w in words for ch in w if not ch.isascii()]
        common = sum(ch in _COMMON[main] for ch in letters) / len(letters)
        scores[candidate] = scripts.count(main) / len(words) * common
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    if not ranked or ranked[0][1] < 0.4:
        return None
    if len(ranked) > 1 and ranked[0][1] < _MARGIN * ranked[1][1]:
        return None  # two readings about as good: the user chooses
    return ranked[0][0]


def _script(word: str) -> str | None:
    """The alphabet of a word's letters (CYRILLIC, GREEK …), None when they mix (Zьrich: Western text read in a
    Cyrillic code page)."""
    found = {unicodedata.name(ch, "?").split(" ")[0] for ch in word if ch.isalpha()}
    return found.pop() if len(found) == 1 else None


_CELL = re.compile(r"[^\s,;|\t\"]+")


def _example(text: str, pattern: re.Pattern) -> str:
    """The cell (up to 20 characters) in which ``pattern`` first matches, without ASCII punctuation (it is shown in
    messages: no markup from the file)."""
    match = pattern.search(text)
    if match is None:
        return ""
    found = match.group()
    for cell in _CELL.finditer(text, max(0, match.start() - 40), match.end() + 40):
        if cell.start() <= match.start() < cell.end():
            found = cell.group()
            break
    return "".join(ch for ch in found if ch.isalnum() or not ch.isascii())[:20]
