"""Live video to browsers over WebRTC (WHEP), the camera's H.264 forwarded without re-encoding."""
