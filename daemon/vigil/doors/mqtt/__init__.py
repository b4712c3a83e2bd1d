"""MQTT adapter: door-event/v1 in, flagged events and adapter health out (see design/doors.md)."""
