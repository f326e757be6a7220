"""The corpus: catalog items and every user's chronological interactions, held column-wise.

``Item`` and ``Interaction`` are the pydantic models that cross boundaries (loaders, seeds, traces).
Inside, a :class:`Corpus` keeps interactions as numpy columns sorted by (user, time) with CSR
offsets per user, because a million pydantic objects would cost over a gigabyte; the models are
materialised on access.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["Corpus", "CorpusBuilder", "CorpusColumns", "CorpusStats", "Interaction", "Item",
           "from_millis", "to_millis"]


def to_millis(ts: datetime) -> int:
    """Milliseconds since the epoch of an aware datetime."""
    return round(ts.timestamp() * 1000)


def from_millis(ms: int) -> datetime:
    """The UTC datetime of epoch milliseconds."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


class Item(BaseModel):
    """A catalog item: id, display title, categories (most general first) and free attributes."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1)
    title: str = ""
    categories: tuple[str, ...] = ()
    attributes: dict[str, Any] = Field(default_factory=dict)

    @property
    def category(self) -> str:
        """The most specific category, or "" when there is none."""
        return self.categories[-1] if self.categories else ""


class Interaction(BaseModel):
    """One timestamped user-item interaction with its rating and review."""

    model_config = ConfigDict(frozen=True)

    user: str = Field(min_length=1)
    item: str = Field(min_length=1)
    rating: float
    timestamp: datetime
    title: str = ""
    text: str = ""

    @field_validator("timestamp")
    @classmethod
    def _aware_utc(cls, v: datetime) -> datetime:
        # Naive datetimes are ambiguous across machines; every timestamp in the corpus is UTC.
        if v.tzinfo is None:
            raise ValueError("timestamp must be timezone-aware (UTC)")
        return v.astimezone(UTC)


class CorpusStats(BaseModel):
    """Summary figures of a corpus, printed by the CLIs and stored with runs."""

    source: str
    n_users: int
    n_items: int
    n_interactions: int
    n_items_without_metadata: int
    first: datetime | None
    last: datetime | None
    mean_rating: float
    mean_history: float
    n_with_text: int
    categories: dict[str, int]


@dataclass(frozen=True, slots=True)
class CorpusColumns:
    """Read-only numpy views of the interactions, sorted by (user, time); ``offsets`` is CSR per user."""

    user: np.ndarray  # int32 index into Corpus.users
    item: np.ndarray  # int32 index into Corpus.item_ids
    rating: np.ndarray  # float32
    ts: np.ndarray  # int64 epoch milliseconds
    offsets: np.ndarray  # int64, len n_users + 1


class CorpusBuilder:
    """Accumulates interactions column-wise; the loaders' fast path is :meth:`add_raw`.

    Duplicates (same user, item and review text; same user, item and time when there is no text)
    are refused by ``add_raw`` returning False, so the caller can report them with file and line.
    """

    def __init__(self) -> None:
        self._user_index: dict[str, int] = {}
        self._item_index: dict[str, int] = {}
        self._user: list[int] = []
        self._item: list[int] = []
        self._rating: list[float] = []
        self._ts: list[int] = []
        self.titles: list[str] = []
        self.texts: list[str] = []
        self._seen: set[int] = set()

    def __len__(self) -> int:
        return len(self._user)

    def add_raw(self, user: str, item: str, rating: float, ts_millis: int, title: str, text: str) -> bool:
        """Add one interaction; False (and nothing added) when it duplicates an earlier one."""
        key = hash((user, item, text)) if text else hash((user, item, ts_millis))
        if key in self._seen:
            return False
        self._seen.add(key)
        u = self._user_index.setdefault(user, len(self._user_index))
        i = self._item_index.setdefault(item, len(self._item_index))
        self._user.append(u)
        self._item.append(i)
        self._rating.append(rating)
        self._ts.append(ts_millis)
        self.titles.append(title)
        self.texts.append(text)
        return True

    def add(self, interaction: Interaction) -> bool:
        """Add a validated interaction; False when it is a duplicate."""
        return self.add_raw(interaction.user, interaction.item, interaction.rating,
                            to_millis(interaction.timestamp), interaction.title, interaction.text)

    def build(self, items: Mapping[str, Item], source: str = "") -> Corpus:
        """The corpus; interactions whose item has no metadata get a bare ``Item(id)``."""
        users = list(self._user_index)
        item_ids = list(self._item_index)
        user = np.asarray(self._user, dtype=np.int32)
        item = np.asarray(self._item, dtype=np.int32)
        rating = np.asarray(self._rating, dtype=np.float32)
        ts = np.asarray(self._ts, dtype=np.int64)
        # Stable sort by (user, time): ties keep file order, so the result is deterministic.
        order = np.lexsort((ts, user))
        catalog = dict(items)
        missing = 0
        for iid in item_ids:
            if iid not in catalog:
                catalog[iid] = Item(id=iid, title=iid)
                missing += 1
        return Corpus._from_columns(
            users, item_ids, catalog, user[order], item[order], rating[order], ts[order],
            [self.titles[k] for k in order], [self.texts[k] for k in order], source, missing,
        )


class Corpus:
    """Items and per-user chronological interactions. Immutable; filters return new corpora."""

    def __init__(self) -> None:  # use CorpusBuilder or Corpus.from_interactions
        raise TypeError("build a Corpus with CorpusBuilder or Corpus.from_interactions")

    @classmethod
    def from_interactions(cls, items: Mapping[str, Item] | Iterable[Item],
                          interactions: Iterable[Interaction], source: str = "") -> Corpus:
        """A corpus of these items and interactions (duplicates dropped)."""
        builder = CorpusBuilder()
        for it in interactions:
            builder.add(it)
        catalog = dict(items) if isinstance(items, Mapping) else {i.id: i for i in items}
        return builder.build(catalog, source)

    @classmethod
    def _from_columns(cls, users: list[str], item_ids: list[str], items: dict[str, Item],
                      user: np.ndarray, item: np.ndarray, rating: np.ndarray, ts: np.ndarray,
                      titles: list[str], texts: list[str], source: str, missing: int) -> Corpus:
        self = object.__new__(cls)
        self.source = source
        self.users = users
        self.item_ids = item_ids
        self.items = items
        self._user_pos = {u: k for k, u in enumerate(users)}
        self._item_pos = {i: k for k, i in enumerate(item_ids)}
        counts = np.bincount(user, minlength=len(users)) if len(users) else np.zeros(0, np.int64)
        offsets = np.zeros(len(users) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        for arr in (user, item, rating, ts, offsets):
            arr.setflags(write=False)
        self.columns = CorpusColumns(user, item, rating, ts, offsets)
        self.titles = titles
        self.texts = texts
        self._missing = missing
        return self

    # -- access -------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.columns.user)

    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def user_index(self, user: str) -> int:
        """Position of a user in ``users`` (KeyError if unknown)."""
        return self._user_pos[user]

    def item_index(self, item: str) -> int:
        """Position of an item in ``item_ids`` (KeyError if unknown)."""
        return self._item_pos[item]

    def interaction(self, row: int) -> Interaction:
        """The interaction at a row of the sorted columns."""
        c = self.columns
        return Interaction.model_construct(
            user=self.users[c.user[row]], item=self.item_ids[c.item[row]], rating=float(c.rating[row]),
            timestamp=from_millis(int(c.ts[row])), title=self.titles[row], text=self.texts[row],
        )

    def rows(self, user: str) -> range:
        """Rows of one user's interactions, oldest first."""
        u = self._user_pos[user]
        return range(int(self.columns.offsets[u]), int(self.columns.offsets[u + 1]))

    def history(self, user: str) -> list[Interaction]:
        """One user's interactions, oldest first."""
        return [self.interaction(r) for r in self.rows(user)]

    def interactions(self) -> Iterator[Interaction]:
        """Every interaction, user by user, each user's oldest first."""
        for r in range(len(self)):
            yield self.interaction(r)

    # -- filters ------------------------------------------------------------------------------
    def _subset(self, keep: np.ndarray) -> Corpus:
        rows = np.flatnonzero(keep)
        builder = CorpusBuilder()
        c = self.columns
        for r in rows:
            builder.add_raw(self.users[c.user[r]], self.item_ids[c.item[r]], float(c.rating[r]),
                            int(c.ts[r]), self.titles[r], self.texts[r])
        kept_items = {self.item_ids[i] for i in np.unique(c.item[rows])}
        return builder.build({k: v for k, v in self.items.items() if k in kept_items}, self.source)

    def kcore(self, k: int) -> Corpus:
        """The largest sub-corpus whose users and items all have at least ``k`` interactions."""
        if k <= 1:
            return self
        c = self.columns
        keep = np.ones(len(self), dtype=bool)
        while True:
            ucount = np.bincount(c.user[keep], minlength=self.n_users)
            icount = np.bincount(c.item[keep], minlength=self.n_items)
            new = keep & (ucount[c.user] >= k) & (icount[c.item] >= k)
            if new.sum() == keep.sum():
                break
            keep = new
        return self._subset(keep)

    def stats(self) -> CorpusStats:
        """Summary figures (sizes, time range, ratings, categories)."""
        c = self.columns
        cats: dict[str, int] = {}
        for iid in self.item_ids:
            cat = self.items[iid].category or "(none)"
            cats[cat] = cats.get(cat, 0) + 1
        n = len(self)
        return CorpusStats(
            source=self.source, n_users=self.n_users, n_items=self.n_items, n_interactions=n,
            n_items_without_metadata=self._missing,
            first=from_millis(int(c.ts.min())) if n else None,
            last=from_millis(int(c.ts.max())) if n else None,
            mean_rating=float(c.rating.mean()) if n else 0.0,
            mean_history=n / self.n_users if self.n_users else 0.0,
            n_with_text=sum(1 for t in self.texts if t),
            categories=dict(sorted(cats.items(), key=lambda kv: (-kv[1], kv[0]))),
        )
