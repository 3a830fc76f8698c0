"""Settings (配置), read from ``YIBAO_*`` environment variables.

Secrets have insecure defaults so that ``make demo`` works out of the box; outside
demo and test mode those defaults are refused, so a production deployment cannot
start with a secret that is printed in this file.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from yibao.errors import ConfigError

DEFAULT_SECRET = "yibao-demo-secret-change-me"
_REPO_ROOT = Path(__file__).resolve().parents[2]


def _default_regions_dir() -> Path:
    for candidate in (Path.cwd() / "regions", _REPO_ROOT / "regions"):
        if candidate.is_dir():
            return candidate
    return Path.cwd() / "regions"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YIBAO_", extra="ignore")

    mode: Literal["demo", "test", "production"] = "production"
    database_url: str = Field(default="sqlite:///data/yibao.db")
    secret_key: str = DEFAULT_SECRET
    regions_dir: Path = Field(default_factory=_default_regions_dir)
    data_dir: Path = Path("data")
    region: str = "990100"
    log_sql: bool = False
    # facade calls one server process runs at once; more wait their turn (see docs/performance.md)
    facade_concurrency: int = Field(default=3, ge=1, le=32)  # ≤ the pool: calls on one loop share it
    # 事后审核 (yibao audit run): DuckDB's threads and memory limit over a period's snapshot
    audit_threads: int = Field(default=2, ge=1, le=64)
    audit_memory_limit: str = Field(default="3GB", pattern=r"^[1-9][0-9]{0,5}(MB|GB)$")

    def require_secrets(self) -> None:
        """Refuse the built-in secret outside demo/test mode (called by servers, not by every CLI command)."""
        if self.mode == "production" and self.secret_key == DEFAULT_SECRET:
            raise ConfigError(
                "YIBAO_SECRET_KEY: 生产模式不能使用默认密钥 (set a random secret, or YIBAO_MODE=demo for a demo)"
            )
        if self.mode == "production" and len(self.secret_key) < 16:
            raise ConfigError("YIBAO_SECRET_KEY: 密钥至少 16 个字符 (at least 16 characters)")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:  # one line naming the variable, not pydantic's report
        first = exc.errors()[0]
        name = "YIBAO_" + "_".join(str(p) for p in first["loc"]).upper()
        raise ConfigError(f"{name}: {first['msg']} (got {first.get('input')!r})") from None


def reset_settings() -> None:
    """Forget cached settings (tests change the environment)."""
    get_settings.cache_clear()
