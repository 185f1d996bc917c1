"""The fonts PDF and HTML reports name, so that text in any script shows as glyphs, not boxes.

DejaVu Sans draws Latin, Greek and Cyrillic (and its metrics size the table's columns); the
Noto Sans CJK faces draw Chinese, Japanese and Korean; Noto Color Emoji draws emoji. They are
Debian's fonts-dejavu-core, fonts-noto-cjk and fonts-noto-color-emoji, which ``make install``
brings. WeasyPrint (through fontconfig) and browsers take each character from the first family
in the list that has it, and a character none of them has from any installed font that has it.
One Noto Sans CJK file holds every CJK character; the families differ only in the regional
shapes of shared Han characters, so the order below picks Japanese shapes, then Simplified
Chinese, then Korean.

Noto Color Emoji is deliberately not named: it also has digits and the space (the bases of
keycap emoji), and once it is in the list WeasyPrint's Pango takes every digit and space from
it, even after DejaVu Sans, which splits runs of text ("row-00001 EMEA" extracts as two lines).
Left out, fontconfig still picks it for emoji and only for them, as the tests check.
"""

from __future__ import annotations

SANS = (
    "DejaVu Sans",
    "Noto Sans CJK JP",
    "Noto Sans CJK SC",
    "Noto Sans CJK KR",
)
# The listing of a long PDF: fixed-width Latin; wide CJK characters take two columns (as the
# listing pads them), which Noto Sans Mono CJK draws.
MONO = (
    "DejaVu Sans Mono",
    "Noto Sans Mono CJK JP",
    "Noto Sans Mono CJK SC",
    "Noto Sans Mono CJK KR",
)


def css_font_family(families: tuple[str, ...], generic: str) -> str:
    """``families`` as a CSS ``font-family`` value, ending in the ``generic`` family."""
    return ", ".join([*(f'"{family}"' for family in families), generic])


SANS_CSS = css_font_family(SANS, "sans-serif")
MONO_CSS = css_font_family(MONO, "monospace")
