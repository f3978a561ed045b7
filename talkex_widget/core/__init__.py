"""Pure, no I/O: protocol, presence, tracker, rooms, channels, auth, limits, transcript,
message types."""
