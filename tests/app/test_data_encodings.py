"""The Data page reads a file in another code page: it says the text looks garbled, offers the encoding that reads
it, and one click reads it right (issue 22, point 3)."""

from __future__ import annotations

from tests.app.conftest import text_of, upload

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
    assert app.selectbox(key="enc-moscow.csv").value == ""  # detected until chosen
    app.button(key="enc-fix-moscow.csv").click().run()
    assert not app.exception, app.exception
    assert app.selectbox(key="enc-moscow.csv").value == "cp1251"
    assert "Text looks garbled" not in text_of(app)
    preview = app.dataframe[0].value if "city" in app.dataframe[0].value else app.dataframe[1].value
    assert set(preview["city"]) == set(CITIES)
    assert "Windows-1251 (Cyrillic), as chosen" in str([d.value for d in app.dataframe])


def test_a_chosen_delimiter_and_a_wrong_encoding_are_said_plainly(app):
    upload(app, "moscow.csv", cyrillic_file(sep="|"))
    app.selectbox(key="delim-moscow.csv").set_value("|").run()
    assert not app.exception, app.exception
    app.selectbox(key="enc-moscow.csv").set_value("utf-8").run()
    assert not app.exception, app.exception
    errors = " ".join(e.value for e in app.error)
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
    # 23:30 UTC is the next morning in India: the purchase days moved with the chosen zone
    assert "Asia/Kolkata" in str([d.value for d in app.dataframe])
