"""E-mail addresses in report files and connections, intranet domains included.

email-validator (behind pydantic's ``EmailStr``) refuses special-use domains such as
``corp.local`` or ``localhost``, which are not deliverable on the internet but are on many
intranets. An address in such a domain is accepted when ``policy.allowed_recipient_domains``
lists the domain or a parent of it: the deployment says the domain is its own. The policy's
list reaches validation through pydantic's validation context (:func:`address_context`), so
email-validator itself is never changed: everything else in the process keeps refusing them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

import email_validator
from pydantic import AfterValidator, ValidationInfo
from pydantic.networks import pretty_email_regex
from pydantic.networks import validate_email as pydantic_validate_email
from pydantic_core import PydanticCustomError

CONTEXT_KEY = "allowed_recipient_domains"


def address_context(allowed_domains: Iterable[Any] | None) -> dict[str, list[str]]:
    """The validation context that lets :data:`MailAddress` accept the policy's domains."""
    domains = [
        str(domain).strip().lstrip("@.").lower()
        for domain in allowed_domains or []
        if isinstance(domain, str) and domain.strip()
    ]
    return {CONTEXT_KEY: domains}


def special_use_suffix(domain: str) -> str | None:
    """The special-use name ``domain`` is or ends in (``local`` for ``corp.local``), or None."""
    domain = domain.lower()
    for name in email_validator.SPECIAL_USE_DOMAIN_NAMES:  # read, never changed
        if domain == name or domain.endswith("." + name):
            return name
    return None


def is_listed(domain: str, allowed_domains: Iterable[str]) -> bool:
    """Whether ``domain`` or one of its parents is in ``allowed_domains`` (lower case)."""
    domain = domain.lower()
    return any(domain == allowed or domain.endswith("." + allowed) for allowed in allowed_domains)


def check_address(value: str, allowed_domains: Iterable[str] = ()) -> str:
    """``value`` as a normalized address (``Name <a@b>`` gives ``a@b``), or ``ValueError``.

    As pydantic's ``EmailStr``, except that an address in a special-use domain listed (or
    under a domain listed) in ``allowed_domains`` is accepted, checked like any other.
    """
    try:
        return pydantic_validate_email(value)[1]
    except PydanticCustomError as exc:
        address = _bare(value)
        domain = address.rpartition("@")[2]
        special = special_use_suffix(domain) if "@" in address else None
        if special is None:
            raise ValueError(str(exc)) from None
    # Check everything but the domain's name as email-validator would: the same address with
    # the special-use name replaced by an ordinary one of the same shape and length.
    stand_in = "".join("." if char == "." else "x" for char in special)
    head = address[: len(address) - len(special)]
    try:
        checked = email_validator.validate_email(
            head + stand_in, check_deliverability=False, globally_deliverable=False
        )
    except email_validator.EmailNotValidError as exc:
        raise ValueError(f"value is not a valid email address: {exc}") from None
    allowed = list(allowed_domains)
    if not is_listed(domain, allowed):
        lowered = domain.lower()
        also = (
            " with every other domain reports send to (a list that is not empty allows only"
            " its domains)"
            if not allowed
            else ""
        )
        raise ValueError(
            f"value is not a valid email address: {lowered} is a special-use domain, not"
            " deliverable on the internet; if it is your intranet's mail domain, add"
            f" {lowered} to policy.allowed_recipient_domains in connections.yaml{also}"
        )
    return checked.normalized[: -len(stand_in)] + special


def _bare(value: str) -> str:
    """The address of ``Name <address>``, or ``value``, without surrounding spaces."""
    match = pretty_email_regex.fullmatch(value)
    return (match.group(3) if match else value).strip()


def _validate(value: str, info: ValidationInfo) -> str:
    allowed = (info.context or {}).get(CONTEXT_KEY, [])
    return check_address(value, allowed)


MailAddress = Annotated[str, AfterValidator(_validate)]
"""An e-mail address field: ``EmailStr``, plus the intranet domains the policy lists."""
