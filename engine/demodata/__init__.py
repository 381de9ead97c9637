"""Demo data shipped with casework (see README.md here for its source and attribution)."""

from pathlib import Path

CDNOW_SAMPLE = Path(__file__).with_name("cdnow_sample.txt")
