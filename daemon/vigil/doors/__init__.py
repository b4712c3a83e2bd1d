"""Access-control adapters: each source system has its own subpackage (webhook, mqtt, onguard)
and hands normalized events to a `DoorEventSink`."""
