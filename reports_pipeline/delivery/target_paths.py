"""SFTP paths and S3 keys stay inside their target: no ``..``, and no absolute path that only
a rendered value made absolute.

A path is a template (``/exports/{{ name }}/{{ period.key }}.csv``); a value rendered into it
(a parameter, a title) could hold ``../../etc`` or start with ``/``, and the file would be
written outside the folder the deployment meant. Written in the template, that is a
validation error (``template_problem``); brought by a rendered value, the delivery refuses
it (``contained_path``).
"""

import re

from reports_pipeline.delivery.errors import PermanentDeliveryError

# Backslashes count as separators: some SFTP servers run on Windows.
_SEPARATORS = re.compile(r"[/\\]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _climbs(path: str) -> bool:
    return ".." in _SEPARATORS.split(path)


def template_problem(template: str) -> str | None:
    """What is wrong with a path template as written, or ``None``."""
    if _climbs(template):
        return "a path may not contain '..': it would leave the target's folder"
    if _CONTROL.search(template):
        return "a path may not contain control characters (a line break, a tab, NUL)"
    return None


def contained_path(template: str, rendered: str, what: str) -> str:
    """``rendered`` if it stays where ``template`` points; :class:`PermanentDeliveryError` if not.

    ``what`` names the target in the message (``sftp path``, ``s3 key``).
    """
    if _climbs(rendered):
        raise PermanentDeliveryError(
            f"{what} {rendered!r} contains '..' once rendered: refused, it would leave the"
            " target's folder"
        )
    if _CONTROL.search(rendered):
        raise PermanentDeliveryError(f"{what} contains control characters once rendered: refused")
    if rendered.startswith(("/", "\\")) and not template.lstrip().startswith("/"):
        raise PermanentDeliveryError(
            f"{what} {rendered!r} is absolute only once rendered: refused; start the template"
            " with / if an absolute path is meant"
        )
    return rendered
