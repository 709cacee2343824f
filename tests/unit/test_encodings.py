"""Encoding and delimiter overrides, and the warning when decoded text looks garbled (issue 22, point 3)."""

from __future__ import annotations

import pytest

from clv_core.errors import ClvError, DataQualityError
from clv_core.ingest import IngestOptions, ingest
from clv_core.ingest.encodings import codec, delimiter, garbled, likely_encoding

RUSSIAN = ("Москва", "Санкт-Петербург", "Новосибирск", "Екатеринбург", "Казань")
GREEK = ("Αθήνα", "Θεσσαλονίκη", "Πάτρα", "Ηράκλειο")
GREEK_CAPITALS = ("ΑΘΗΝΑ", "ΘΕΣΣΑΛΟΝΙΚΗ", "ΠΑΤΡΑ", "ΗΡΑΚΛΕΙΟ")
HEBREW = ("ירושלים", "חיפה", "נתניה", "אשדוד", "רחובות")
WESTERN = ("Zürich", "Genève", "São Paulo", "Malmö", "Köln", "Málaga")


def transactions(cities, *, sep: str = ",", header: str = "customer,date,amount,city") -> str:
    rows = "".join(f"{i}{sep}2024-01-{1 + i % 27:02d}{sep}{10 + i}{sep}{cities[i % len(cities)]}\n" for i in range(60))
    return header.replace(",", sep) + "\n" + rows


@pytest.mark.parametrize(
    ("cities", "encoding"),
    [(RUSSIAN, "cp1251"), (RUSSIAN, "koi8-r"), (GREEK, "cp1253"), (GREEK_CAPITALS, "cp1253"), (HEBREW, "cp1255")],
)
def test_a_single_byte_file_read_as_windows_1252_is_called_garbled_with_its_encoding(cities, encoding):
    data = transactions(cities).encode(encoding)
    report = ingest(data, "export.csv").report
    assert report.encoding == "Windows-1252"
    assert report.likely_encoding == encoding
    assert report.garbled.startswith("Text looks garbled (") and cities[0] in report.garbled
    assert report.garbled in report.notes
    fixed = ingest(data, "export.csv", options=IngestOptions(encoding=encoding))
    assert fixed.report.garbled is None
    assert set(fixed.data["city"]) == set(cities)


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252", "utf-16"])
def test_western_text_in_any_encoding_detection_reads_is_not_called_garbled(encoding):
    report = ingest(transactions(WESTERN).encode(encoding), "export.csv").report
    assert report.garbled is None and report.likely_encoding is None


def test_utf8_converted_twice_is_called_garbled_without_an_encoding_that_cannot_fix_it():
    twice = transactions(WESTERN).encode("utf-8").decode("cp1252").encode("utf-8")
    report = ingest(twice, "export.csv").report
    assert report.likely_encoding is None
    assert "converted to UTF-8 a second time" in report.garbled and "ZÃ¼rich" in report.garbled


def test_a_garbled_header_that_maps_no_column_says_which_encoding_reads_it():
    data = transactions(RUSSIAN, header="клиент,дата,сумма,город").encode("cp1251")
    with pytest.raises(ClvError, match="Windows-1251"):
        ingest(data, "export.csv")
    read = ingest(
        data,
        "export.csv",
        options=IngestOptions(encoding="windows-1251"),
        customer_id="клиент",
        date="дата",
        amount="сумма",
    )
    assert read.report.rows_kept == 60


def test_a_chosen_encoding_the_bytes_are_not_in_is_a_clear_error():
    with pytest.raises(ClvError, match=r"not UTF-8 text \(byte [\d,]+ cannot be read that way\)"):
        ingest(transactions(RUSSIAN).encode("cp1251"), "export.csv", options=IngestOptions(encoding="utf-8"))


def test_a_chosen_delimiter_is_the_one_used():
    text = "customer_id|date|amount|note\n" + "".join(f"{i}|2024-01-0{1 + i % 9}|{i}|a,b\n" for i in range(30))
    assert ingest(text.encode(), "odd.txt").report.delimiter == "pipe"  # detected
    piped = ingest(text.encode(), "odd.txt", options=IngestOptions(delimiter="|"))
    assert piped.report.columns_in_file == ("customer_id", "date", "amount", "note") and piped.report.rows_kept == 30
    with pytest.raises(ClvError, match="line 2 has 2 fields"):  # split at the commas, as asked
        ingest(text.encode(), "odd.txt", options=IngestOptions(delimiter="comma"))


@pytest.mark.parametrize(("given", "expected"), [("Windows-1251", "cp1251"), ("UTF8", "utf-8"), ("latin1", "latin-1")])
def test_encoding_names_are_read_as_python_reads_them(given, expected):
    assert codec(given) == expected
    assert IngestOptions(encoding=given).encoding == expected


@pytest.mark.parametrize("bad", ["rot13", "no-such-codec", "base64", "punycode", "idna", "utf-7", "undefined"])
def test_what_is_not_a_text_encoding_is_refused(bad):
    with pytest.raises(DataQualityError, match="not a text encoding"):
        IngestOptions(encoding=bad)


@pytest.mark.parametrize(("given", "expected"), [("tab", "\t"), ("\\t", "\t"), (";", ";"), ("space", " "), ("|", "|")])
def test_delimiter_names(given, expected):
    assert delimiter(given) == expected


@pytest.mark.parametrize("bad", ["", "ab", "\n", '"'])
def test_what_cannot_be_a_delimiter_is_refused(bad):
    with pytest.raises(DataQualityError, match="not a delimiter"):
        delimiter(bad)


def test_an_example_shown_in_the_warning_carries_no_markup_from_the_file():
    cells = "".join(f"{i},2024-01-01,1,[ZÃ¼rich](http://evil.example)\n" for i in range(5))
    found = garbled("customer,date,amount,city\n" + cells, b"", "UTF-8")
    assert found is not None and "[" not in found.sentence and "(http" not in found.sentence


def test_likely_encoding_is_none_for_western_text():
    assert likely_encoding(transactions(WESTERN).encode("cp1252")) is None


def test_an_encoding_chosen_by_hand_that_gives_no_words_is_warned_about_with_the_one_that_does():
    data = transactions(HEBREW).encode("cp1255")
    wrong = ingest(data, "export.csv", options=IngestOptions(encoding="cp1251")).report  # Hebrew read as Cyrillic
    assert wrong.likely_encoding == "cp1255" and "as chosen" in wrong.garbled and "Windows-1255" in wrong.garbled
    right = ingest(data, "export.csv", options=IngestOptions(encoding="cp1255")).report
    assert right.garbled is None


def test_a_codec_python_knows_but_that_refuses_bytes_is_a_message_not_a_traceback():
    from clv_core.ingest.sniff import read_raw

    with pytest.raises(ClvError, match=r"t\.csv is not undefined text: choose another encoding"):
        read_raw(b"customer_id,date,amount\n1,2024-01-01,5\n", "t.csv", encoding="undefined")  # UnicodeError
