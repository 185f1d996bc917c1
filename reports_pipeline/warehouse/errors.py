"""What a failed report query raises, whichever database ran it."""


class QueryError(Exception):
    """The database rejected or failed the query; the message is one line, without the URL."""


class QueryTimeout(Exception):
    """The query ran longer than its ``timeout``."""
