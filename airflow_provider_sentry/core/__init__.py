"""Sans-I/O core: Sentry's protocol as pure functions and state machines.

Nothing here opens a socket, sleeps or reads the clock: the sync hook (requests) and the
async trigger (httpx) are thin transports that feed it bytes and obey its decisions, so the
protocol is written once.
"""
