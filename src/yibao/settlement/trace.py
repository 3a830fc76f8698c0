"""The policy parameters a stored settlement read (for display): online settlements store them;
batch ones store the names they were computed from, expanded here through the same bundle."""

from __future__ import annotations

from yibao.policy.compiler import PolicyBundle


def expand(bundle: PolicyBundle, trace: dict | None) -> list[dict[str, str]]:
    if not trace:
        return []
    if "params" in trace:
        return list(trace["params"])
    b = trace.get("batch")
    if not b or b.get("version") not in bundle.versions:
        return []
    vi = bundle.versions.index(b["version"])
    ii = bundle.insutype_index(b["insutype"])
    ci = bundle.classes.index(b["class"]) if b["class"] in bundle.classes else None
    pi = bundle.category_index(b["insutype"], b["psn_type"])
    if ii is None or ci is None or pi is None:
        return []
    di = bundle.disease_index(b["disease"]) if b.get("disease") else -1
    acat = (
        bundle.assistance_codes.index(b["assistance"])
        if b.get("assistance") in bundle.assistance_codes
        else -1
    )
    head = [{"param": "policy", "value": f"{bundle.region} {b['version']} {bundle.hash[:12]}"}]
    return head + list(
        bundle.explain(
            vi,
            ii,
            ci,
            pi,
            int(b["level"]),
            -1 if di is None else di,
            ci_tilt=int(b.get("ci_tilt") or 0),  # (a bool in batches stored before tilts were numbered)
            sp_on=bool(b.get("sp_on")),
            sp_tilt=bool(b.get("sp_tilt")),
            acat=acat,
        )
    )
