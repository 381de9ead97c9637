"""`casework cycles start` and `casework reviews start` as an operator runs them."""

from __future__ import annotations

import json
from typing import Any

from engine.demodata import CDNOW_SAMPLE
from tests.cli.test_main import home, run

__all__ = ["home", "run"]  # fixtures shared with test_cli


def test_cycles_and_reviews_open_once_from_the_command_line(run: Any) -> None:
    assert run("customers", "import", str(CDNOW_SAMPLE), "--format", "cdnow").exit_code == 0
    assert run("tiers", "recompute", "--as-of", "1998-06-30").exit_code == 0
    first = run("cycles", "start", "--year", "1998", "--json")
    assert first.exit_code == 0, first.output
    opened = json.loads(first.stdout)
    assert (opened["workflow"], len(opened["started"]), opened["skipped"]) == (
        "annual_cycle", 731, {})
    again = run("cycles", "start", "--year", "1998")
    assert again.stdout.startswith("1998 cycles: 0 case(s) of annual_cycle opened, 731 "
                                   "customer(s) passed over")
    strategic = run("cycles", "start", "--year", "1999", "--tier", "strategic", "--json")
    assert len(json.loads(strategic.stdout)["started"]) == 12
    reviews = run("reviews", "start", "--as-of", "2026-09-15", "--json")
    assert reviews.exit_code == 0, reviews.output
    assert len(json.loads(reviews.stdout)["started"]) == 12  # strategic: 6 months since import
    assert run("reviews", "start", "--as-of", "2026-09-15", "--json").stdout.count('"started": {}')
    bad = run("cycles", "start", "--year", "98")
    assert bad.exit_code != 0 and "98 is not a year" in bad.stderr
