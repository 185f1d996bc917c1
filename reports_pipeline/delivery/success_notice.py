"""The words of a success notice, for reports whose ``notify.on`` asks for one."""


def size_text(rows: int | None, size_bytes: int | None) -> str:
    """``1,204 rows, 56.3 KB``; what is unknown is left out."""
    parts = []
    if rows is not None:
        parts.append(f"{rows:,} row{'s' if rows != 1 else ''}")
    if size_bytes is not None:
        parts.append(_bytes(size_bytes))
    return ", ".join(parts) or "size unknown"


def _bytes(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{size:,} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def success_notice(
    *,
    report: str,
    title: str,
    period: str | None,
    rows: int | None,
    size_bytes: int | None,
    targets: list[str],
    run_url: str,
) -> tuple[str, str]:
    """Subject and text: which period ran, the file's size, what each target got, the run."""
    subject = f"Report done: {title} ({period or 'no period'})"
    lines = [
        f"The report {report} ({title}) ran for period {period or '-'}.",
        f"File: {size_text(rows, size_bytes)}.",
        "",
        "Targets:",
        *([f"  - {line}" for line in targets] or ["  - none"]),
        "",
        f"Run: {run_url}",
    ]
    return subject, "\n".join(lines) + "\n"
