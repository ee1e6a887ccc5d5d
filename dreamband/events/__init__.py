"""What the event tables (spindles, slow waves) share: searching a night piece by piece
around its gaps, the stage of each event, and the CSV rows."""

from dreamband.events.search import (
    EventTable,
    check_event_signal,
    event_summary,
    searchable_pieces,
    stage_at_centres,
    stage_label,
    write_event_rows,
)

__all__ = [
    "EventTable",
    "check_event_signal",
    "event_summary",
    "searchable_pieces",
    "stage_at_centres",
    "stage_label",
    "write_event_rows",
]
