"""The in-memory division tree routing decides over: every division's name, the onboarded units, their
own settings overrides and the agencies attached to them. Built once at service start (and again when
tenants change) from `routing.divisions`, `routing.units` and `routing.agencies`, or from the CSV
files of the national table (bench/routing_tree.py).

Lookups are dict hits on the prefixes of a code (`common.divisions.lineage`), so a decision costs a
handful of dict lookups whatever the table's size. Effective settings and tier policies are computed
once per unit and cached; what a decision needs of a place (its lineage, the onboarded units covering
it) once per place, in a bounded cache. A tree is not changed once built: the service builds a new one
when tenants change.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from common.divisions import lineage
from services.routing import settings as tenant_settings
from services.routing.rules import Decision, Facts, NoResponsibleUnit, TierPolicy, UnitRef, decide_over, territory

_TIER_BY_LENGTH = {6: "city", 9: "township", 12: "village"}
# places remembered by `DivisionTree.decide` (about 0.4 KiB each): emptied when full, so that memory stays
# bounded (a tree with the whole country onboarded stays well under its target) whatever the places
PLACE_CACHE_SIZE = 100_000
_tuple_new = tuple.__new__
_DEFAULTS = tenant_settings.DEFAULTS
_DEFAULT_POLICY = TierPolicy(
    village_max=_DEFAULTS.amount_thresholds.village_max,
    township_max=_DEFAULTS.amount_thresholds.township_max,
    collective_complainants=_DEFAULTS.collective.complainants,
    safety_tier=_DEFAULTS.safety_tier,
)
# the `DivisionTree._places` entry of a place no onboarded unit covers
_UNCOVERED: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]] = ((), (), ())


class OnboardedUnits(Mapping[str, UnitRef]):
    """Onboarded units as a mapping code -> UnitRef over the names table, building each UnitRef only
    when a decision reads it: a tree with the whole country onboarded holds one set of codes."""

    __slots__ = ("_codes", "_names")

    def __init__(self, names: Mapping[str, str], codes: set[str]) -> None:
        self._names = names
        self._codes = codes

    def __contains__(self, code: object) -> bool:
        return code in self._codes

    def __getitem__(self, code: str) -> UnitRef:
        if code not in self._codes:
            raise KeyError(code)
        # tuple.__new__ skips the named tuple's Python-level __new__: the same object, a few times cheaper
        return _tuple_new(UnitRef, (code, self._names.get(code, code), _TIER_BY_LENGTH[len(code)]))

    def __iter__(self) -> Iterator[str]:
        return iter(self._codes)

    def __len__(self) -> int:
        return len(self._codes)


class DivisionTree:
    __slots__ = (
        "_codes",
        "_places",
        "_policies",
        "_settings",
        "agencies",
        "fingerprint",
        "names",
        "overrides",
        "units",
    )

    def __init__(
        self,
        names: dict[str, str],
        units: Mapping[str, UnitRef],
        overrides: dict[str, dict[str, Any]] | None = None,
        agencies: dict[str, dict[str, str]] | None = None,
        fingerprint: tuple[Any, ...] = (),
    ) -> None:
        self.names = names
        self.units = units
        self.overrides = overrides or {}
        self.agencies = agencies or {}
        self.fingerprint = fingerprint
        self._settings: dict[str, tenant_settings.TenantSettings] = {}
        self._policies: dict[str, TierPolicy] = {}
        # what a decision needs of a place: its lineage, the onboarded codes in it (lowest first), the
        # lowest one's UnitRef as a plain tuple. Strings and plain tuples only, which the garbage
        # collector stops tracking: however many entries, they add nothing to its full collections.
        self._places: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {}
        # membership without a Python-level __contains__
        self._codes: Container[str] = units._codes if isinstance(units, OnboardedUnits) else units

    # --- building ---

    @classmethod
    def load(cls, session: Session) -> DivisionTree:
        """From routing's tables (the whole division table, onboarded units, agencies)."""
        from services.routing.models import Agency, Division, Unit

        fingerprint = registry_fingerprint(session)
        names = dict(session.execute(select(Division.code, Division.name)).tuples().all())
        units: dict[str, UnitRef] = {}
        overrides: dict[str, dict[str, Any]] = {}
        for code, name, tier, own in session.execute(select(Unit.code, Unit.name, Unit.tier, Unit.settings)):
            units[code] = UnitRef(code, name, tier)
            if own:
                overrides[code] = own
        agencies: dict[str, dict[str, str]] = {}
        for agency_id, unit_code, agency_type in session.execute(
            select(Agency.id, Agency.unit_code, Agency.agency_type)
        ):
            agencies.setdefault(unit_code, {})[agency_type] = agency_id
        return cls(names, units, overrides, agencies, fingerprint)

    @classmethod
    def from_csv(cls, folder: Path, onboard: Iterable[str] = ()) -> DivisionTree:
        """From the national table's CSV files (the china-division layout: `code` and `name` first);
        `onboard` lists codes whose whole subtree is onboarded (a benchmark's stand-in for
        routing.units; `""` onboards everything)."""
        import csv

        from services.routing.registry import DIVISION_FILES

        names: dict[str, str] = {}
        for filename in DIVISION_FILES:
            path = folder / filename
            if path.exists():
                with path.open(newline="", encoding="utf-8") as handle:
                    reader = csv.reader(handle)
                    header = next(reader, [])
                    if header[:2] != ["code", "name"]:
                        raise ValueError(f"{path}: expected the columns code, name first")
                    names.update((row[0], row[1]) for row in reader if row)
        prefixes = tuple(onboard)
        codes = (
            {c for c in names if len(c) in _TIER_BY_LENGTH and c.startswith(prefixes) and c.isdigit()}
            if prefixes
            else set()
        )
        return cls(names, OnboardedUnits(names, codes))

    # --- reading ---

    def settings_for(self, code: str) -> tenant_settings.TenantSettings:
        """Effective settings of the onboarded unit `code` (defaults <- city <- township <- village)."""
        found = self._settings.get(code)
        if found is None:
            chain = [self.overrides.get(c, {}) for c in reversed(lineage(code)) if c in self.units]
            found = self._settings[code] = tenant_settings.effective(chain)
        return found

    def policy_for(self, code: str) -> TierPolicy:
        found = self._policies.get(code)
        if found is None:
            if not any(c in self.overrides for c in lineage(code)):
                # no overrides anywhere above: the defaults, shared by every such unit
                found = self._policies[code] = _DEFAULT_POLICY
                return found
            s = self.settings_for(code)
            found = self._policies[code] = TierPolicy(
                village_max=s.amount_thresholds.village_max,
                township_max=s.amount_thresholds.township_max,
                collective_complainants=s.collective.complainants,
                safety_tier=s.safety_tier,
            )
        return found

    def decide(self, facts: Facts) -> Decision:
        """`rules.decide` over this tree (the same decision), keeping what depends on the place only."""
        place, rule, source = territory(facts)
        found = self._places.get(place)
        if found is None:
            found = self._place(place)
        covering, chain, fields = found
        if not chain:
            raise NoResponsibleUnit(f"no onboarded unit covers {place}")
        territorial = _tuple_new(UnitRef, fields)
        policy = self._policies.get(fields[0]) or self.policy_for(fields[0])
        return decide_over(
            facts, place, rule, source, list(covering), chain, territorial, policy, self.units, self.agencies
        )

    def _place(self, place: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
        covering = lineage(place)
        codes = self._codes
        chain = tuple([c for c in covering if c in codes])
        found = (tuple(covering), chain, tuple(self.units[chain[0]])) if chain else _UNCOVERED
        places = self._places
        if len(places) >= PLACE_CACHE_SIZE:
            places.clear()
        places[place] = found
        return found

    def lowest_unit(self, code: str) -> UnitRef | None:
        found = self._places.get(code)
        if found is None:
            found = self._place(code)
        return _tuple_new(UnitRef, found[2]) if found[1] else None

    def agency_exists(self, agency_id: str) -> bool:
        unit_code, _, agency_type = agency_id.partition("-")
        return self.agencies.get(unit_code, {}).get(agency_type) == agency_id


def registry_fingerprint(session: Session) -> tuple[Any, ...]:
    """Cheap summary of what the tree holds: changes whenever a tenant is onboarded, offboarded or its
    settings change (every such change writes an audit row; the demo loader changes the counts)."""
    from services.routing.models import Agency, TenantAudit, Unit

    return (
        session.scalar(select(func.count()).select_from(Unit)),
        session.scalar(select(func.count()).select_from(Agency)),
        session.scalar(select(func.max(TenantAudit.id))),
    )
