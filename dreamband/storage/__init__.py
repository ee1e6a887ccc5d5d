"""Storage: crash-safe raw recordings of band streams."""

from dreamband.storage.raw import RawRecorder, list_streams, read_gaps, read_stream

__all__ = ["RawRecorder", "list_streams", "read_gaps", "read_stream"]
