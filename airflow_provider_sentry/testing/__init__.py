"""An offline Sentry emulator for tests, the demo and users' own DAG tests."""
