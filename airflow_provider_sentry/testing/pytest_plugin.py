"""pytest plugin (entry point ``pytest11``): the ``sentry_emulator`` fixture."""
