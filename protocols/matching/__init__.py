"""Match keys and cluster rules for the union index (pure, explainable).

* :mod:`protocols.matching.text` — Unicode folding, mojibake detection, edit distance
* :mod:`protocols.matching.keys` — :class:`Profile` and the match keys of a record
* :mod:`protocols.matching.rules` — ``compare(a, b) -> Match | None`` in RecordManager's order
* :mod:`protocols.matching.grouping` — deterministic clustering of a set of profiles
"""

from protocols.matching.grouping import ClusterPlan, Group, Link, plan_clusters
from protocols.matching.keys import KEY_KINDS, Profile, match_keys, profile_of
from protocols.matching.rules import (
    DEFAULT_POLICY, RULES, SAME_MEMBER_RULES, Match, MatchPolicy, compare,
)
from protocols.matching.text import fold, looks_garbled

__all__ = [
    "ClusterPlan", "DEFAULT_POLICY", "Group", "KEY_KINDS", "Link", "Match", "MatchPolicy",
    "Profile", "RULES", "SAME_MEMBER_RULES", "compare", "fold", "looks_garbled", "match_keys",
    "plan_clusters", "profile_of",
]
