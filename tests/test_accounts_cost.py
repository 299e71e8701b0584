"""Password hashes cost what the installation sets (``GRIDMAP_PASSWORD_HASH_COST``, 14 unless
set: N = 16,384), and a hash made at one cost verifies at any other."""

from __future__ import annotations

import pytest

from gridmap import accounts
from gridmap.settings import Settings


def test_the_default_cost_and_its_bounds(hash_cost):
    hash_cost(None)
    assert Settings().password_hash_cost == 14 and accounts.hash_password("x").startswith("scrypt$16384$8$1$")
    for wrong in (9, 21):
        with pytest.raises(Exception, match="password_hash_cost"):
            Settings(password_hash_cost=wrong)


def test_a_hash_made_at_one_cost_verifies_at_another(hash_cost):
    hash_cost(16)  # 64 MiB: more than hashlib allows unless told
    strong = accounts.hash_password("right")
    assert strong.startswith("scrypt$65536$")
    hash_cost(10)
    weak = accounts.hash_password("right")
    assert weak.startswith("scrypt$1024$")
    assert accounts.check_password("right", strong) and not accounts.check_password("wrong", strong)
    assert accounts._stand_in_hash().startswith("scrypt$1024$")  # a missing name costs as much
    hash_cost(16)
    assert accounts.check_password("right", weak) and not accounts.check_password("wrong", weak)
    assert accounts._stand_in_hash().startswith("scrypt$65536$")
