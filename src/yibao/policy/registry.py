"""Compiled policy bundles by region, loaded once per process (the files are read at first use)."""

from __future__ import annotations

import threading
from pathlib import Path

from yibao.errors import PolicyError
from yibao.policy.compiler import PolicyBundle
from yibao.policy.loader import load_region_policy

_lock = threading.Lock()
_bundles: dict[tuple[str, str], PolicyBundle] = {}
# (insured place, regions folder as given) → bundle: every settlement asks, and the answer needs file-system
# calls (is_dir, resolve) that cost more than the settlement's arithmetic; bundles are per process anyway.
_by_place: dict[tuple[str, str], PolicyBundle] = {}


def policy_region_for(admdvs: str, regions_dir: Path) -> str:
    """The region whose policy applies to an insured place: itself, or its city (``xxyy00``)."""
    for candidate in (admdvs, admdvs[:4] + "00"):
        if (regions_dir / candidate / "policy").is_dir():
            return candidate
    raise PolicyError(f"insuplc_admdvs: 参保地 {admdvs} 没有待遇政策 (no policy folder under {regions_dir})")


def get_bundle(admdvs: str, regions_dir: Path | None = None) -> PolicyBundle:
    if regions_dir is None:
        from yibao.config import get_settings

        regions_dir = get_settings().regions_dir
    known = _by_place.get((admdvs, str(regions_dir)))
    if known is not None:
        return known
    asked = str(regions_dir)
    regions_dir = Path(regions_dir)
    region = policy_region_for(admdvs, regions_dir)
    key = (str(regions_dir.resolve()), region)
    bundle = _bundles.get(key)
    if bundle is None:
        with _lock:
            bundle = _bundles.get(key)
            if bundle is None:
                bundle = _bundles[key] = load_region_policy(region, regions_dir)
    _by_place[(admdvs, asked)] = bundle
    return bundle


def clear() -> None:
    _bundles.clear()
    _by_place.clear()
