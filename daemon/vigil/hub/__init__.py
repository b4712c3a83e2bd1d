"""The district hub (`vigil hub`, issue 17, design/district.md): the same software in hub mode.
It keeps a registry of the building appliances (sites) enrolled with it, what they publish over
the district MQTT broker, district users who sign in once, and hands out short-lived tokens each
appliance checks itself. Video never passes through it."""
