"""The planning context of one seed: its profiles as of the target time, the aspect table, the persona."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, model_validator

from planners.errors import ContextError
from profiling.profiles import Aspect, ItemProfile, ProfileSource, UserProfile
from profiling.seeds import Seed

__all__ = ["PlanContext"]


class PlanContext(BaseModel):
    """A seed with the user's and items' profiles as of the target time, the aspect table, a persona.

    Checked when built (ContextError naming the rule): profiles are of the seed's user, target and
    negatives (``profile_user``, ``profile_target``, ``negative_not_in_seed``), none is later than the
    target time (``profile_after_target``: that would leak the future), and every aspect id they use
    is in the table (``unknown_aspect``).
    """

    model_config = ConfigDict(frozen=True)

    seed: Seed
    user: UserProfile
    target: ItemProfile
    negatives: tuple[ItemProfile, ...] = Field((), description="profiles of seed negatives (any subset)")
    aspects: Mapping[int, Aspect] = Field(description="the run's aspect table by id")
    persona: str = "default"

    @model_validator(mode="after")
    def _consistent(self) -> PlanContext:
        s = self.seed
        if self.user.user != s.user:
            raise ContextError(
                "profile_user", f"user profile is of {self.user.user!r}, seed is of {s.user!r}"
            )
        if self.target.item != s.target.item:
            raise ContextError(
                "profile_target",
                f"target profile is of {self.target.item!r}, seed target is {s.target.item!r}",
            )
        for n in self.negatives:
            if n.item not in s.negatives:
                raise ContextError("negative_not_in_seed", f"{n.item!r} is not a negative of seed {s.key}")
        t = s.target.timestamp
        for label, at in (
            ("user", self.user.at),
            ("target", self.target.at),
            *(("negative " + n.item, n.at) for n in self.negatives),
        ):
            if at > t:
                raise ContextError(
                    "profile_after_target",
                    f"{label} profile is as of {at.isoformat()}, after the target time {t.isoformat()}",
                )
        used = {p.aspect for p in self.user.preferences}
        for prof in (self.target, *self.negatives):
            used.update(a.aspect for a in prof.aspects)
        missing = used.difference(self.aspects)
        if missing:
            raise ContextError("unknown_aspect", f"aspect ids {sorted(missing)} are not in the aspect table")
        return self

    @classmethod
    def from_source(
        cls,
        seed: Seed,
        source: ProfileSource,
        *,
        persona: str = "default",
        aspects: Mapping[int, Aspect] | None = None,
    ) -> PlanContext:
        """The context of ``seed`` with every profile taken from ``source`` as of the target time.

        Item views are what *other* buyers say (the seed's user left out: a low rating of theirs is not
        the community's opinion), and the user's quotes come from their reviews of the target's
        category. Pass ``aspects`` (the table by id) when building many contexts, to build it once.
        """
        at = seed.target.timestamp
        table = aspects if aspects is not None else {a.id: a for a in source.aspects}
        target = source.item_profile(seed.target.item, at, exclude_user=seed.user)
        return cls(
            seed=seed,
            user=source.user_profile(seed.user, at, category=target.category or None),
            target=target,
            negatives=tuple(source.item_profile(n, at, exclude_user=seed.user) for n in seed.negatives),
            aspects=table,
            persona=persona,
        )

    def negative(self, item: str) -> ItemProfile | None:
        """The profile of one negative, or None when the context has none for it."""
        return next((n for n in self.negatives if n.item == item), None)
