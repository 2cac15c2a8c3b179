"""Print how every fuzz corpus ended (cases per outcome) at the end of the session."""

from __future__ import annotations

from tests.fuzz.harness import TALLY


def pytest_terminal_summary(terminalreporter):
    if not TALLY:
        return
    outcomes = sorted({o for counts in TALLY.values() for o in counts}, key=lambda o: (o != "refused", o))
    width = max(len(c) for c in TALLY)
    terminalreporter.section("fuzz corpora: cases per outcome")
    terminalreporter.write_line(f"{'corpus':<{width}}  {'cases':>5}  " + "  ".join(outcomes))
    for corpus in sorted(TALLY):
        counts = TALLY[corpus]
        cells = "  ".join(f"{counts.get(o, 0):>{len(o)}}" for o in outcomes)
        terminalreporter.write_line(f"{corpus:<{width}}  {sum(counts.values()):>5}  {cells}")
