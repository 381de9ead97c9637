"""Mutations of a definition file's lines, for fuzzing the loaders."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

OPERATIONS = ("delete", "duplicate", "insert", "cut", "swap")


def mutate(draw: st.DrawFn, lines: Sequence[str], tokens: Sequence[str]) -> str:
    """One to four line edits: delete, duplicate, insert a token, cut short, or swap lines."""
    lines = list(lines)
    for _ in range(draw(st.integers(1, 4))):
        index = draw(st.integers(0, len(lines) - 1))
        line = lines[index]
        operation = draw(st.sampled_from(OPERATIONS))
        if operation == "delete":
            del lines[index]
        elif operation == "duplicate":
            lines.insert(index, line)
        elif operation == "insert":
            at = draw(st.integers(0, len(line)))
            lines[index] = line[:at] + draw(st.sampled_from(list(tokens))) + line[at:]
        elif operation == "cut":
            at = draw(st.integers(0, len(line)))
            lines[index] = line[:at]
        else:
            other = draw(st.integers(0, len(lines) - 1))
            lines[index], lines[other] = lines[other], line
        if not lines:
            lines = [""]
    return "\n".join(lines) + "\n"
