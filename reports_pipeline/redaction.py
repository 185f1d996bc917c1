"""Secrets out of every text the product writes: step errors, metadata, logs, notices.

A server that echoes a request back (a 500 page, a 200 with the request in its body) puts our
credentials in its answer, and from there in the run's events, the compute logs and the owner's
notice. A :class:`Redactor` masks each secret it is given in every form a request carries it
(raw, URL-encoded, base64 alone or inside ``user:password``, JSON or HTML escaped) and, without
knowing any value, whatever reads as a credential: ``Authorization``-like headers and fields,
``Basic``/``Bearer`` credentials, a URL's ``user:password@`` and its secret query parameters.
It also caps what is kept of a text: a server's answer is evidence, not an archive.
"""

import base64
import html
import json
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

from reports_pipeline.secret_values import SECRET_NAME_PATTERN

MASK = "***"
MAX_CHARS = 2000
"""What a message or metadata value keeps of a text (a server's answer, an error)."""

TRUNCATED = "… (truncated)"

# Shorter values would mask ordinary words everywhere; the patterns below still apply to them.
_MIN_SECRET_CHARS = 4
# Texts are scanned up to this size; a longer one is cut first (its cut-off tail checked).
_MAX_SCANNED_CHARS = 1_000_000
_MIN_PARTIAL_CHARS = 3

_NAME = rf"(?<![\w.-])(?:{SECRET_NAME_PATTERN})"
# token=…, "password": "…", Authorization: Basic …, X-Api-Key: … (quoted or not).
_NAMED_VALUE = re.compile(
    rf"""(?P<lead>{_NAME}["']?\s*[:=]\s*)"""
    # A quoted value ends at its quote, else at the end of the line (an answer cut short).
    r"""(?:(?P<quote>["'])(?:\\.|(?!(?P=quote))[^\n])*(?:(?P=quote)|(?=\n)|\Z)"""
    r"""|(?:(?:basic|bearer|digest|token|negotiate)\s+)?[^\s"',;&<>)}\]]+)""",
    re.IGNORECASE,
)
# The same inside a URL that is itself URL-encoded: %3Ftoken%3D…%26
_ENCODED_NAMED_VALUE = re.compile(
    rf"(?P<lead>(?:%3F|%26|%3B)(?:{SECRET_NAME_PATTERN})%3D)(?:[^%&\s\"'<>]|%(?!26)[0-9a-f]{{2}})*",
    re.IGNORECASE,
)
# An HTTP credential anywhere: "Bearer xoxb-…", "Basic dXNlcjpw…" (a word after Basic or
# Bearer counts only when it has a capital, a digit or a base64 sign: "Basic authentication"
# is prose).
_SCHEME_CREDENTIAL = re.compile(
    r"(?P<lead>\b(?:Basic|Bearer)\s+)(?=[\w.~+/=-]*(?-i:[A-Z0-9+/=]))[\w.~+/=-]{6,}", re.I
)
# Tokens whose shape gives them away even when cut short: Slack's xoxb-…, SendGrid's SG.…
_KNOWN_TOKEN = re.compile(r"\b(?:xox[a-z]-[\w-]{4,}|SG\.[\w.-]{6,})")
_URL_USERINFO = re.compile(r"(?P<lead>\b[a-z][a-z0-9+.-]*://[^\s/?#@:'\"]*:)[^\s/?#@'\"]+@", re.I)
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]+=*")


def _lead_and_mask(match: re.Match) -> str:
    quote_char = match.groupdict().get("quote") or ""
    return f"{match['lead']}{quote_char}{MASK}{quote_char}"


def redact_patterns(text: str) -> str:
    """``text`` with whatever reads as a credential masked, whatever its value."""
    text = _URL_USERINFO.sub(lambda m: f"{m['lead']}{MASK}@", text)
    text = _ENCODED_NAMED_VALUE.sub(_lead_and_mask, text)
    text = _NAMED_VALUE.sub(_lead_and_mask, text)
    text = _SCHEME_CREDENTIAL.sub(_lead_and_mask, text)
    return _KNOWN_TOKEN.sub(MASK, text)


def _encodings(secret: str) -> list[bytes]:
    encoded = [secret.encode("utf-8")]
    try:
        latin1 = secret.encode("latin-1")  # how HTTP basic auth encodes a password
    except UnicodeEncodeError:
        return encoded
    return encoded if latin1 == encoded[0] else [*encoded, latin1]


def _base64_cores(secret: str) -> set[str]:
    """What base64 of any text containing ``secret`` surely contains, at each of the three
    alignments (alone, after ``user:`` in a Basic header, after ``\\0user\\0`` in SMTP AUTH):
    the characters that encode bits of the secret only."""
    cores = set()
    for data in _encodings(secret):
        for shift in range(3):
            encoded = base64.b64encode(b"\0" * shift + data).decode("ascii")
            core = encoded[-(-8 * shift // 6) : 8 * (shift + len(data)) // 6]
            if len(core) >= _MIN_SECRET_CHARS:
                cores |= {core, core.replace("+", "-").replace("/", "_")}
    return cores


def _text_forms(secret: str) -> set[str]:
    """The secret as raw text, URL-encoded, JSON- and HTML-escaped."""
    forms = {
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        html.escape(secret),
    }
    return {form for form in forms if len(form) >= _MIN_SECRET_CHARS}


def _alternation(forms: Iterable[str], flags: int = 0) -> re.Pattern | None:
    ordered = sorted(set(forms), key=len, reverse=True)  # longest first: no partial masks
    return re.compile("|".join(map(re.escape, ordered)), flags) if ordered else None


class Redactor:
    """Masks the given secrets in all their forms, and every credential-like pattern."""

    def __init__(self, secrets: Iterable[str | None] = ()):
        values = {s for s in secrets if s and len(s) >= _MIN_SECRET_CHARS}
        self._forms = set().union(*(_text_forms(s) for s in values))
        self._cores = set().union(*(_base64_cores(s) for s in values))
        # URL escapes may come in lower case (%2f): text forms match regardless of case.
        self._text = _alternation(self._forms, re.IGNORECASE)
        self._base64 = _alternation(self._cores)

    def _mask_values(self, text: str) -> str:
        if self._base64 is not None:  # the whole base64 word: its edges hold bits of the secret
            text = _BASE64_RUN.sub(
                lambda m: MASK if self._base64.search(m.group()) else m.group(), text
            )
        if self._text is not None:
            text = self._text.sub(MASK, text)
        return text

    def _mask_cut_tail(self, text: str) -> str:
        """A text cut in the middle of a secret ends with its start: mask that too."""
        for form in sorted(self._forms | self._cores, key=len, reverse=True):
            for size in range(len(form) - 1, _MIN_PARTIAL_CHARS - 1, -1):
                if text.endswith(form[:size]):
                    return text[:-size] + MASK
        return text

    def text(self, text: str, limit: int | None = MAX_CHARS, *, cut_off: bool = False) -> str:
        """``text`` without secrets, at most ``limit`` characters (None: whole).

        ``cut_off``: the text is the start of a longer one (the first bytes of an answer), so
        it may end with the start of a secret.
        """
        text = str(text)
        if len(text) > _MAX_SCANNED_CHARS:
            text, cut_off = text[:_MAX_SCANNED_CHARS], True
        if cut_off:
            text = self._mask_cut_tail(text)
        text = redact_patterns(self._mask_values(text))
        if limit is not None and len(text) > limit:
            text = text[:limit] + TRUNCATED
        return text

    def value(self, value, limit: int | None = MAX_CHARS):
        """A copy of ``value`` (text, or dicts and lists of them) without secrets."""
        if isinstance(value, str):
            return self.text(value, limit)
        if isinstance(value, dict):
            return {key: self.value(item, limit) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.value(item, limit) for item in value]
        return value


def redact(text: str, limit: int | None = MAX_CHARS) -> str:
    """``text`` with every credential-like pattern masked, for texts whose secrets are not
    known here (errors read back from the event log)."""
    return Redactor().text(text, limit)
