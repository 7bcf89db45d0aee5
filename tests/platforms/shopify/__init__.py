"""Tests for the Shopify platform package."""
