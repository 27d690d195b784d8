"""The law as data and rules (TRAJECTORY.md; ENGINEERING.md "rules/").

* :mod:`rules.parameters` — effective-dated parameters from ``rules/parameters/*.yaml``
* :mod:`rules.dates` — legal date arithmetic (§5)
* :mod:`rules.geography` — region and agency from the NIS code (§1)
* :mod:`rules.host` — the only door to durable-rules
* :mod:`rules.target_group` — obligated / entitled / excluded (§2)
* :mod:`rules.infractions` — effective-dated infraction rulesets (§3, §4, §6)
* :mod:`rules.b1` — the oral B1 check (§4.7)
* :mod:`rules.components`, :mod:`rules.fees` — component pass rules (§4.5), fees and fines (§6.8, §7)

Only the standard library, PyYAML and durable-rules are imported here; nothing
reads the wall clock.
"""
