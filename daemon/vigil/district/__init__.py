"""The appliance's side of the district (issue 17, design/district.md): the hub's tokens, the
enrolment, the events it publishes for the bridge."""
