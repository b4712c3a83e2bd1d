"""Incidents leaving and reaching the appliance: deliveries to outside recipients (webhook, MQTT,
e-mail) and the triggers that declare (a panic button's MQTT message, the door rule)."""
