"""Pure decisions: no asyncio, sqlite, av or aiohttp in here. Time is always an argument."""
