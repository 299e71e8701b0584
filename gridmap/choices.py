"""The names a command or request chooses among, kept where importing them costs nothing
(the command line reads them to build its parser, before any command runs). The modules
that act on them import them from here."""

from __future__ import annotations

#: the life-circle levels of the standard (GB/T 50180-2018), in walking minutes
LEVELS: tuple[int, ...] = (5, 10, 15)
#: how coverage judges a home: within the level's walking minutes, or within its radius
MEASURES = ("time", "radius")
#: where walks start: each residential building, or its compound's gates
ORIGIN_MODES = ("building", "compound")
#: where siting finds candidate places for a new station
CANDIDATE_SOURCES = ("given", "public_buildings", "nodes")
#: the siting models: maximal covering, set covering, p-median
SITING_MODELS = ("mclp", "lscp", "pmedian")
