"""LenelS2 OnGuard OpenAccess poller (see design/doors.md, "OnGuard adapter")."""
