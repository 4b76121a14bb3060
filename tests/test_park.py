import pytest

from greenpark import park as park_mod

from conftest import SMALL_PARK


def test_small_park_loads(park):
    assert park.park.timezone == "Asia/Shanghai"
    assert park.meter("E1-EL-AIR").parent == "E1-EL"


@pytest.mark.parametrize(("change", "message"), [
    (('carrier = "natural_gas"', 'carrier = "natral_gas"'), "meters 'E1-NG': carrier 'natral_gas' is unknown; valid carriers"),
    (('parent = "E1-EL"', 'parent = "E1-XX"'), "meters 'E1-EL-AIR': parent 'E1-XX' is not a meter id"),
    (('id = "E1-WA"\nowner = "E1"', 'id = "E1-WA"\nowner = "E9"'), "meters 'E1-WA': owner 'E9' is neither"),
    (('id = "E1-ST"\nowner = "E1"\ncarrier = "steam"\nunit = "t"', 'id = "E1-ST"\nowner = "E1"\ncarrier = "steam"\nunit = "m3"'),
     "unit 'm3' cannot be converted into 'kg'"),
    (('unit = "kWh"\nrenewable_generation = true', 'unit = "kWh"\nrenewable_generation = true\ncolour = 1'),
     "meters[2] (id 'E1-PV') field 'colour': unknown field"),
    (('equal_value_coal_rate_source = "test value"', ''), "equal_value_coal_rate_source is required"),
])
def test_validation_error_names_file_entry_and_fix(change, message):
    text = SMALL_PARK.replace(*change)
    assert text != SMALL_PARK
    with pytest.raises(park_mod.ParkError) as err:
        park_mod.parse(text, source="x/park.toml")
    assert "x/park.toml" in str(err.value)
    assert message in str(err.value)


def test_missing_park_file_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(park_mod.ParkError, match="greenpark init"):
        park_mod.find_park_file(None)
