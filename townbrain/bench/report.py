"""docs/performance.md: one section per benchmark, replaced in place on each run."""

import os
import platform
import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

HEADER = "# Performance\n\nFigures written by `townbrain bench …`; each section names the machine and date it was measured on.\n"


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (f"{cpu}, {os.cpu_count()} cores{mem}; {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}; SQLite {sqlite3.sqlite_version}")


def write_section(path: str, title: str, figures: dict) -> None:
    """Replace (or append) the section `## title` with the figures table."""
    file = Path(path)
    text = file.read_text(encoding="utf-8") if file.exists() else HEADER
    lines = [f"## {title}", "", f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}.", ""]
    if figures.get("description"):
        lines += [figures["description"], ""]
    lines += ["| measure | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in figures["rows"]]
    lines += ["", f"Result: {figures['summary']}", ""]
    section = "\n".join(lines) + "\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(lambda _m: section, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text, encoding="utf-8")
