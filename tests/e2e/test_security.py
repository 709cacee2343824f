"""The real server's guards: an upload without the XSRF token is refused; with the token it gets past the check."""

from __future__ import annotations

import http.cookiejar
import urllib.error
import urllib.request
import uuid

BOUNDARY = "clvstudioboundary"
BODY = (
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="x.csv"\r\n'
    "Content-Type: text/csv\r\n\r\ncustomer_id,date,amount\r\na,2024-01-01,1\r\n"
    f"--{BOUNDARY}--\r\n"
).encode()


def put_upload(opener, url: str, headers: dict) -> int:
    request = urllib.request.Request(
        f"{url}/_stcore/upload_file/{uuid.uuid4()}/{uuid.uuid4()}",
        data=BODY,
        method="PUT",
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}", **headers},
    )
    try:
        with opener.open(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_an_upload_without_the_xsrf_token_is_refused(server):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(f"{server}/_stcore/health", timeout=10).read()  # the server hands out the XSRF cookie here
    cookie = next(c.value for c in jar if c.name == "_streamlit_xsrf")

    assert put_upload(opener, server, {}) == 403  # cookie alone: refused
    assert put_upload(urllib.request.build_opener(), server, {"X-Xsrftoken": cookie}) == 403  # header alone
    assert put_upload(opener, server, {"X-Xsrftoken": "forged"}) == 403
    assert put_upload(opener, server, {"X-Xsrftoken": cookie}) != 403  # the real token passes the check
