"""Tests for the platform packages."""
