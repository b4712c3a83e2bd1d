"""Camera ingest: one RTSP session per camera stream, shared by every consumer through a fan-out."""
