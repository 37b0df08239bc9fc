"""The result rows every measure returns, and the table :mod:`bench.run` prints."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class Row:
    """One line of the table: our figure, the alternative's, their ratio and the goal."""

    measure: str
    case: str
    ours: str
    other: str = ""
    ratio: str = ""
    goal: str = ""
    verdict: str = ""  # "met", "MISSED", "n/a" or a short reason
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


HEADERS = ("measure", "case", "ours", "alternative", "ours/alt", "goal", "goal met?")


def markdown_table(rows: Iterable[Row]) -> str:
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    for r in rows:
        cells = (r.measure, r.case, r.ours, r.other, r.ratio, r.goal, r.verdict)
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def notes(rows: Iterable[Row]) -> str:
    return "\n".join(f"- {r.measure} {r.case}: {r.note}" for r in rows if r.note)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def secs(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds < 100 else f"{seconds:.0f} s"


def mib(n_bytes: float) -> str:
    return f"{n_bytes / 2**20:.2f} MiB"


def ratio(ours: float, other: float) -> str:
    if other == 0:
        return "n/a"
    return f"{ours / other:.2f}x"


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"
