"""Policy as code (待遇政策): effective-dated policy files, validated and compiled into a hashed bundle."""

from yibao.policy.compiler import PolicyBundle, compile_versions
from yibao.policy.loader import load_region_policy

__all__ = ["PolicyBundle", "compile_versions", "load_region_policy"]
