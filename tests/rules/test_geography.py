"""Region and agency from the NIS code (TRAJECTORY.md §1; scenarios/README.md "Outcome")."""
import pytest

from rules.geography import Location, is_brussels, locate


@pytest.mark.parametrize("code, region, agency", [
    ("11002", "antwerpen_stad", "atlas"),
    ("44021", "gent_stad", "amal"),
    ("11001", "provincie_antwerpen", "agii"),
    ("13040", "provincie_antwerpen", "agii"),
    ("23062", "vlaams_brabant", "agii"),
    ("24062", "vlaams_brabant", "agii"),
    ("31005", "west_vlaanderen", "agii"),
    ("38025", "west_vlaanderen", "agii"),
    ("44020", "oost_vlaanderen", "agii"),
    ("46003", "oost_vlaanderen", "agii"),
    ("71016", "limburg", "agii"),
    ("73107", "limburg", "agii"),
    ("21004", "brussel", "agii"),
    ("21019", "brussel", "agii"),
])
def test_locate(code, region, agency):
    assert locate(code) == Location(region, agency)


@pytest.mark.parametrize("code", ["25072", "52011", "57081", "61003", "62063", "81001", "91013", "63023", "00000", "99999", "20001", "22001"])
def test_outside_the_area(code):
    assert locate(code) is None


@pytest.mark.parametrize("code", ["1100", "110020", "1100a", "", " 11002", "11002\n", 11002, None, "١١٠٠٢"])
def test_malformed_codes_are_refused_naming_the_code(code):
    with pytest.raises(ValueError, match="not five digits") as caught:
        locate(code)
    assert repr(code) in str(caught.value)


def test_is_brussels():
    assert is_brussels(locate("21004"))
    assert not is_brussels(locate("11002"))
    assert not is_brussels(None)


def test_location_is_frozen():
    with pytest.raises(Exception):
        locate("11002").region = "elsewhere"
