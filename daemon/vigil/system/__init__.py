"""The appliance around the daemon: systemd supervision, provisioning, hot-plugged disks and cameras."""
