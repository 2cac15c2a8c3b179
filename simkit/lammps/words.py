"""Turn a Python string into one word of a LAMMPS input line.

LAMMPS splits input lines on whitespace, cuts them at ``#`` and substitutes
``$x`` variables, except inside single, double or triple quotes (manual:
"Parsing rules"); a path such as ``/data/my potentials/Si.snapcoeff`` must be
quoted or LAMMPS sees two words and complains about the argument count.
"""

from __future__ import annotations

from simkit.errors import InputDataError

# Characters LAMMPS treats specially outside quotes.
_SPECIAL = frozenset(" \t#$\"'")


def lammps_word(text: str) -> str:
    """``text`` unchanged when LAMMPS reads it as one word, else quoted so that it does."""
    if "\n" in text or "\r" in text:
        raise InputDataError(f"{text!r}: LAMMPS cannot take a line break inside a command argument")
    if text and not _SPECIAL.intersection(text):
        return text
    if '"' not in text:
        return f'"{text}"'
    if "'" not in text:
        return f"'{text}'"
    if '"""' not in text and not text.endswith('"'):
        return f'"""{text}"""'
    raise InputDataError(f"{text!r}: LAMMPS cannot quote an argument holding both ' and \"\"\"; rename it")


def lammps_number(value: float) -> str:
    """A float as LAMMPS reads it, exactly: the shortest repr that round-trips (numpy scalars would
    print as 'np.float64(...)')."""
    return repr(float(value))
