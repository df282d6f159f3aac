"""Lead names: roles and placeholders are never taken for a first name."""

import pytest

from leadstream_client.leads import is_personal_name, lead_facts


@pytest.mark.parametrize(
    "name",
    [
        "HR Decision Maker",
        "Contact 1",
        "Head of Sales",
        "Lead #3",
        "CEO",
        "Hiring Manager",
        "Talent Acquisition Team",
        "Procurement",
        "Unknown",
        "123",
        "--",
        "VP, Finance",
    ],
)
def test_roles_and_placeholders_are_not_names(name: str) -> None:
    assert not is_personal_name(name)
    facts = lead_facts({"name": name, "company": "Acme"})
    assert facts.first is None
    assert lead_facts({"first_name": name}).first is None


@pytest.mark.parametrize(
    ("name", "first"),
    [
        ("Ahmed Al Mansouri", "Ahmed"),
        ("Dr. Sara Khan", "Sara"),
        ("Md Rahman", "Md"),
        ("JEAN-LUC PICARD", "Jean-luc"),
        ("محمد علي", "محمد"),
    ],
)
def test_people_keep_their_first_name(name: str, first: str) -> None:
    assert is_personal_name(name)
    assert lead_facts({"name": name}).first == first
