"""Use cases, one module per capability (design/architecture.md).

A service function takes the caller (`caller.Caller`: who, how they came, when), makes the
per-item permission decision (core.permissions), performs the change and its audit entry in one
transaction (store/), runs its SQLite work off the event loop (`env.ServiceEnv.run`), and
returns plain values (frozen dataclasses of store/ or core/). The API, the CLI and the workers
call the same functions; none of them writes to store/ on its own."""
