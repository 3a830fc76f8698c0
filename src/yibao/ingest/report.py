"""What an import reports (导入结果): counts, and each rejected row with its line, field and reason."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rejection:
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"第{self.line}行 {self.field}: {self.reason}"


@dataclass
class ImportReport:
    file: str
    kind: str
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    sha256: str = ""
    dry_run: bool = False

    def counts(self) -> dict[str, int]:
        return {
            "read": self.read,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": len({r.line for r in self.rejected}),
        }
