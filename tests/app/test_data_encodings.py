"""The Data page reads a file in another code page: it says the text looks garbled, offers the encoding that reads
it, and one click reads it right (issue 22, point 3)."""

from __future__ import annotations

from tests.app.conftest import text_of, upload


def picker(app, label: str):
    """The Data page's selectbox labelled ``label`` (the reading options are keyed by the upload's id)."""
    return next(s for s in app.selectbox if s.label == label)


CITIES = ("Москва", "Санкт-Петербург", "Новосибирск")


def cyrillic_file(sep: str = ";") -> bytes:
    rows = "".join(f"{i}{sep}2024-01-{1 + i % 27:02d}{sep}{10 + i}{sep}{CITIES[i % 3]}\n" for i in range(60))
    return (f"customer{sep}date{sep}amount{sep}city\n" + rows).encode("cp1251")


def test_a_garbled_upload_is_named_and_one_click_reads_it_in_its_encoding(app):
    upload(app, "moscow.csv", cyrillic_file())
    assert not app.exception, app.exception
    shown = next(w.value for w in app.warning if "Text looks garbled" in w.value)
    warning = shown.replace("\\", "")  # as read, without markdown's escapes
    assert "Windows-1251" in warning and "Москва" in warning
    assert picker(app, "Text encoding").value == ""  # detected until chosen
    next(b for b in app.button if b.label == "Read it as Windows-1251 (Cyrillic)").click().run()
    assert not app.exception, app.exception
    assert picker(app, "Text encoding").value == "cp1251"
    assert "Text looks garbled" not in text_of(app)
    preview = app.dataframe[0].value if "city" in app.dataframe[0].value else app.dataframe[1].value
    assert set(preview["city"]) == set(CITIES)
    assert "Windows-1251 (Cyrillic), as chosen" in str([d.value for d in app.dataframe])


def test_a_chosen_delimiter_and_a_wrong_encoding_are_said_plainly(app):
    upload(app, "moscow.csv", cyrillic_file(sep="|"))
    picker(app, "Delimiter").set_value("|").run()
    assert not app.exception, app.exception
    picker(app, "Text encoding").set_value("utf-8").run()
    assert not app.exception, app.exception
    errors = " ".join(e.value.replace("\\", "") for e in app.error)
    assert "moscow.csv is not UTF-8 text" in errors and "choose another encoding" in errors
    assert "Nothing was lost" in text_of(app)


def test_an_upload_starts_in_the_browsers_time_zone_and_the_sample_in_utc(app, monkeypatch):
    from clv_app.views import data as data_views

    assert len(data_views.TIMEZONES) > 300 and data_views.TIMEZONES[0] == "UTC"
    assert {"Asia/Kolkata", "America/Argentina/Buenos_Aires", "Pacific/Auckland"} <= set(data_views.TIMEZONES)
    monkeypatch.setattr(data_views, "browser_timezone", lambda: "Asia/Kolkata")
    assert app.selectbox(key="opt-timezone").value == "UTC"  # the bundled sample
    rows = "".join(f"{i},2024-01-{1 + i % 27:02d}T23:30:00+00:00,{10 + i}\n" for i in range(40))
    upload(app, "orders.csv", ("customer_id,date,amount\n" + rows).encode())
    assert not app.exception, app.exception
    assert app.selectbox(key="opt-timezone-local").value == "Asia/Kolkata"
    # 23:30 UTC is the next morning in India: the purchase days moved with the zone
    assert "Asia/Kolkata" in str([d.value for d in app.dataframe])
    assert "Purchases from 2024-01-02 to 2024-01-28" in text_of(app)


def test_a_hostile_column_name_in_a_message_is_shown_as_text_not_as_a_link(app):
    header = "**[click me](https://evil.example/login)**,date,amount\n"
    upload(app, "evil.csv", (header + "".join(f"x{i},2024-01-0{1 + i % 9},5\n" for i in range(20))).encode())
    assert not app.exception, app.exception
    shown = " ".join(e.value for e in app.error)
    assert "click me" in shown and "](https://" not in shown and "**[" not in shown  # escaped: literal text


def test_the_same_file_name_uploaded_again_is_read_as_detected_not_as_the_earlier_choice(app):
    upload(app, "export.csv", cyrillic_file())
    picker(app, "Text encoding").set_value("cp1251").run()
    assert "Windows-1251 (Cyrillic), as chosen" in str([d.value for d in app.dataframe])
    rows = "".join(f"{i};2024-01-{1 + i % 27:02d};{10 + i};Zürich\n" for i in range(60))
    upload(app, "export.csv", ("customer;date;amount;city\n" + rows).encode("utf-8"))  # another file, same name
    assert not app.exception, app.exception
    assert picker(app, "Text encoding").value == ""
    detection = next(d.value for d in app.dataframe if "item" in d.value.columns).set_index("item")["value"]
    assert detection["encoding"] == "UTF-8"
