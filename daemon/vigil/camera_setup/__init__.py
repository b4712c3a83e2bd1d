"""Camera setup (issue 15): WS-Discovery, address scans and ONVIF probes, each kept inside the
probe network policy (core/probe_networks.py). I/O shell; services/camera_setup.py is the use case."""
