"""CPU seconds of a group of processes, read from /proc (Linux), for the benchmarks."""

import os
from pathlib import Path

# Fields of /proc/<pid>/stat after the command's closing parenthesis (stat(5) numbering - 3).
PROCESS_GROUP, SESSION = 2, 3


def cpu_seconds(field: int, value: int) -> float:
    """User + system CPU of every process whose stat ``field`` (``PROCESS_GROUP`` or
    ``SESSION``) is ``value``, with the children they have already reaped."""
    ticks = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        if int(fields[field]) == value:
            ticks += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")
