"""The intercom (design/intercom.md): talking through a device's loudspeaker."""
