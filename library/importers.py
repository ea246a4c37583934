"""Placeholder: the catalog importer (CSV and MARC) lands in the next commit."""

from dataclasses import dataclass, field


@dataclass
class ImportSummary:
    format: str
    created: int = 0
    updated: int = 0
    skipped: int = 0
    failed: int = 0
    errors: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"format": self.format, "created": self.created, "updated": self.updated, "skipped": self.skipped,
                "failed": self.failed, "errors": self.errors}


def import_catalog(*, data: bytes, filename: str = "", format: str | None = None) -> ImportSummary:
    raise NotImplementedError
