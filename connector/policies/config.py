"""The ``policies:`` block of the configuration: defaults for every shop, overridden per shop.

Each policy owns one sub-block (``address``, ``stale``, ...); its pydantic model names the thresholds
so that a typo in a merchant's YAML is reported with its key path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict


class PoliciesConfig(BaseModel):
    """All policy settings of one shop (defaults merged with its overrides)."""

    model_config = ConfigDict(extra="allow", frozen=True)


def merge_policy_overrides(defaults: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge ``overrides`` over ``defaults``: mappings merge key by key, anything else replaces."""
    merged: dict[str, Any] = dict(defaults)
    for key, value in overrides.items():
        base = merged.get(key)
        if isinstance(base, Mapping) and isinstance(value, Mapping):
            merged[key] = merge_policy_overrides(base, value)
        else:
            merged[key] = value
    return merged
