"""Password hashes cost what the installation sets (``GRIDMAP_PASSWORD_HASH_COST``, 14 unless
set: N = 16,384), and a hash made at one cost verifies at any other."""

from __future__ import annotations

import pytest

from gridmap import accounts
from gridmap.settings import Settings


@pytest.fixture
def cost(monkeypatch):
    """Set the installation's cost for this test (each process reads it once)."""

    def set_to(value: int | None) -> None:
        if value is None:
            monkeypatch.delenv("GRIDMAP_PASSWORD_HASH_COST", raising=False)
        else:
            monkeypatch.setenv("GRIDMAP_PASSWORD_HASH_COST", str(value))
        accounts._scrypt_n.cache_clear()

    yield set_to
    accounts._scrypt_n.cache_clear()


def test_the_default_cost_and_its_bounds(cost):
    cost(None)
    assert Settings().password_hash_cost == 14 and accounts.hash_password("x").startswith("scrypt$16384$8$1$")
    for wrong in (9, 21):
        with pytest.raises(Exception, match="password_hash_cost"):
            Settings(password_hash_cost=wrong)


def test_a_hash_made_at_one_cost_verifies_at_another(cost):
    cost(16)  # 64 MiB: more than hashlib allows unless told
    strong = accounts.hash_password("right")
    assert strong.startswith("scrypt$65536$")
    cost(10)
    weak = accounts.hash_password("right")
    assert weak.startswith("scrypt$1024$")
    assert accounts.check_password("right", strong) and not accounts.check_password("wrong", strong)
    assert accounts._stand_in_hash().startswith("scrypt$1024$")  # a missing name costs as much
    cost(16)
    assert accounts.check_password("right", weak) and not accounts.check_password("wrong", weak)
    assert accounts._stand_in_hash().startswith("scrypt$65536$")
