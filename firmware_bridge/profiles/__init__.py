"""Device profiles: one module per kind of band, plus a registry to look them up."""

from __future__ import annotations

from firmware_bridge.profiles import ganglion, heart_rate, muse, polar_h10
from firmware_bridge.profiles.base import Command, Frame, Profile, StreamSpec

__all__ = ["PROFILES", "Command", "Frame", "Profile", "StreamSpec", "get_profile", "match_profile"]

PROFILES: dict[str, Profile] = {
    p.name: p for p in (muse.PROFILE, ganglion.PROFILE, polar_h10.PROFILE, heart_rate.PROFILE)
}


def get_profile(name: str) -> Profile:
    """The profile called ``name``; ValueError listing the known ones otherwise."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; known: {', '.join(PROFILES)}") from None


def match_profile(
    local_name: str | None, service_uuids: list[str] | tuple[str, ...]
) -> Profile | None:
    """Guess a band's profile from its advertised name and services (most specific first)."""
    uuids = {u.lower() for u in service_uuids}
    name = local_name or ""
    for p in (polar_h10.PROFILE, muse.PROFILE, ganglion.PROFILE):
        if any(name.startswith(prefix) for prefix in p.name_prefixes):
            return p
        if p is not polar_h10.PROFILE and uuids & set(p.service_uuids):
            return p
    if polar_h10.PMD_SERVICE in uuids:
        return polar_h10.PROFILE
    if heart_rate.HEART_RATE_SERVICE in uuids:
        return heart_rate.PROFILE
    return None
