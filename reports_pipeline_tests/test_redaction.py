"""Secrets masked in every form a request carries them, and credential-like text masked
whatever its value."""

import base64
import json
from urllib.parse import quote, quote_plus

from hypothesis import example, given
from hypothesis import strategies as st

from reports_pipeline.redaction import MASK, TRUNCATED, Redactor, redact

PASSWORD = "Pw d+/&=?%42-9f8e"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_each_form_of_a_known_secret_is_masked():
    echoed = "\n".join(
        [
            f"raw {PASSWORD}",
            f"path /hook/{quote(PASSWORD, safe='')}",
            f"form {quote_plus(PASSWORD)}",
            f"lower-case escapes {quote(PASSWORD, safe='').lower()}",
            f"alone {b64(PASSWORD)}",
            f"after a user {b64('reports:' + PASSWORD)}",
            f"smtp auth plain {b64(chr(0) + 'reports' + chr(0) + PASSWORD)}",
            f"url-safe {base64.urlsafe_b64encode(PASSWORD.encode()).decode()}",
            f"json {json.dumps({'echo': PASSWORD})}",
        ]
    )
    text = Redactor([PASSWORD]).text(echoed, limit=None)
    assert PASSWORD not in text
    assert quote(PASSWORD, safe="") not in text and quote_plus(PASSWORD) not in text
    assert "cmVwb3J0czpQ" not in text  # the start of base64("reports:Pw…")
    assert text.count(MASK) == 9
    assert text.startswith("raw ***\npath /hook/***\nform ***")


def test_headers_basic_bearer_and_api_keys_are_masked_without_knowing_the_value():
    echoed = (
        "POST /hook?token=tok%2Fen&format=json HTTP/1.1\n"
        "Authorization: Basic dXNlcjpodW50ZXIy\n"
        "X-Api-Key: k3y-value\n"
        '{"headers": {"authorization": "Bearer xoxb-1-2", "X-Auth-Token": "abc"}}\n'
        "sent Bearer SG.key.abc123 to postgresql://reports:hunter2@db/warehouse\n"
        "redirect=https%3A%2F%2Fx%2Fcb%3Fapi_key%3Dk3y%26a%3D1\n"
        "error: xoxb-12345-abc, SG.abcdef.ghijkl"
    )
    assert redact(echoed, limit=None) == (
        "POST /hook?token=***&format=json HTTP/1.1\n"
        "Authorization: ***\n"
        "X-Api-Key: ***\n"
        '{"headers": {"authorization": "***", "X-Auth-Token": "***"}}\n'
        "sent Bearer *** to postgresql://reports:***@db/warehouse\n"
        "redirect=https%3A%2F%2Fx%2Fcb%3Fapi_key%3D***%26a%3D1\n"
        "error: ***, ***"
    )


def test_a_quoted_value_cut_short_is_masked_to_the_end_of_its_line():
    assert redact('{"token": "tok-123\nnext') == '{"token": "***"\nnext'


def test_prose_about_credentials_is_left_alone():
    prose = (
        "SMTP login refused for user reports: 535; Basic authentication failed;"
        " the token is wrong or revoked (invalid_auth); sslkey=/etc/client.key"
    )
    assert redact(prose) == prose


def test_a_long_answer_is_capped_after_it_is_scrubbed():
    answer = "x" * 1990 + PASSWORD + "y" * 5000
    text = Redactor([PASSWORD]).text(answer)
    assert text == "x" * 1990 + MASK + "y" * 7 + TRUNCATED


def test_a_text_cut_through_a_secret_does_not_keep_its_start():
    text = Redactor([PASSWORD]).text("answer: ..." + PASSWORD[:9], cut_off=True)
    assert PASSWORD[:9] not in text and text.endswith(MASK)


def test_values_nested_in_metadata_are_scrubbed_and_other_values_kept():
    details = {"status": 500, "response": f"echo {PASSWORD}", "list": [PASSWORD, 3]}
    assert Redactor([PASSWORD]).value(details) == {
        "status": 500,
        "response": "echo ***",
        "list": [MASK, 3],
    }


def test_short_values_are_not_masked_everywhere():
    assert Redactor(["ab", "", None]).text("a tab and a cab") == "a tab and a cab"


_secrets = st.text(
    st.characters(min_codepoint=33, max_codepoint=0x17F, blacklist_categories=("Cs",)),
    min_size=8,
    max_size=40,
)


@given(secret=_secrets, user=st.text("abcdefghij", min_size=0, max_size=7), noise=st.text())
@example(secret="hunter2!", user="", noise="")
def test_no_form_of_any_secret_survives(secret, user, noise):
    forms = [
        secret,
        quote(secret, safe=""),
        quote_plus(secret),
        b64(secret),
        b64(f"{user}:{secret}"),
        json.dumps(secret),
    ]
    text = Redactor([secret]).text(f"{noise} " + " | ".join(forms) + f" {noise}", limit=None)
    for form in forms:
        assert form.strip('"') not in text
    # Not even a recognisable stretch of the base64 in a Basic header is left.
    encoded = b64(f"{user}:{secret}")
    assert all(encoded[i : i + 8] not in text for i in range(len(encoded) - 8))


def test_a_megabyte_of_unlucky_text_is_scrubbed_in_linear_time():
    """Texts come from servers: a run of credential words must not make scanning quadratic
    (hours for this input when the names were unbounded; well under a second now)."""
    import time

    unlucky = ["tokentoken" * 100_000, "Basic " * 200_000, '"token": "' * 100_000, "a=b&" * 250_000]
    started = time.monotonic()
    for text in unlucky:
        Redactor([PASSWORD]).text(text)
    assert time.monotonic() - started < 60
