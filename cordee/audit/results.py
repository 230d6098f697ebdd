"""What ``verify_chain`` finds: problems (the trail was tampered with) and warnings (its tail is exposed)."""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_PROBLEMS = 100


@dataclass(frozen=True)
class Problem:
    # altered | forged | removed | inserted | reordered | checkpoint | copy | purge | keyring;
    # and for warnings: unsealed
    kind: str
    seq: int | None
    message: str


@dataclass
class VerifyResult:
    entries: int = 0
    tombstones: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    checkpoints: int = 0
    copied: int | None = None  # checkpoints read from the second copy (None: no copy configured)
    purges: int = 0
    chain_problems: list[Problem] = field(default_factory=list)
    checkpoint_problems: list[Problem] = field(default_factory=list)
    more_problems: bool = False  # the list stopped at MAX_PROBLEMS chain problems: there may be more
    # Not tampering, but exposure: entries that no checkpoint seals yet, for too long.
    warnings: list[Problem] = field(default_factory=list)

    @property
    def problems(self) -> list[Problem]:
        return self.chain_problems + self.checkpoint_problems

    @property
    def ok(self) -> bool:
        return not self.chain_problems and not self.checkpoint_problems

    @property
    def first_problem(self) -> Problem | None:
        problems = self.problems
        return problems[0] if problems else None

    def summary(self) -> str:
        span = f"#{self.first_seq}..#{self.last_seq}" if self.entries else "empty"
        copied = "" if self.copied is None else f" ({self.copied} in the copy)"
        counts = (
            f"{self.entries} entries ({span}, {self.tombstones} purged), "
            f"{self.checkpoints} checkpoints{copied}, {self.purges} purges"
        )
        if self.ok:
            return f"OK: audit chain verified: {counts}"
        first = self.first_problem
        assert first is not None  # noqa: S101 (not ok means at least one problem)
        return f"FAILED: {len(self.problems)} problem(s) in {counts}; first: {first.message}"
