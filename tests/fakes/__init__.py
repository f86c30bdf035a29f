"""Fakes of outside services for tests (loopback servers, fixtures)."""
