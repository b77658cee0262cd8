"""Rota building: who lends, in which order, and the reason kept for each position."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.broker.rota import Candidate, build_rota


def test_status_then_load_then_speed_then_code():
    rota = build_rota([
        Candidate("D-LIMITED", status="limited"),
        Candidate("C-BUSY", loans_made=40, requests_borrowed=10),           # ratio 4.0
        Candidate("B-SLOW", loans_made=5, requests_borrowed=10, median_turnaround_hours=90),
        Candidate("A-FAST", loans_made=5, requests_borrowed=10, median_turnaround_hours=20),
        Candidate("E-FAST", loans_made=5, requests_borrowed=10, median_turnaround_hours=20),
    ], requester="US-REQ", service_type="Loan")
    assert rota.members == ["A-FAST", "E-FAST", "B-SLOW", "C-BUSY", "D-LIMITED"]
    assert "ratio 0.5" in rota.entries[0].reason and "median turnaround 20 h" in rota.entries[0].reason
    assert rota.entries[3].reason.startswith("open; lent 40 / borrowed 10 (ratio 4.0)")


@pytest.mark.parametrize(("candidate", "service", "why"), [
    (Candidate("US-REQ"), "Loan", "the requester itself"),
    (Candidate("X", status="closed"), "Copy", "closed"),
    (Candidate("X", status="digital-only"), "Loan", "digital-only"),
    (Candidate("X", services=("Copy",)), "Loan", "its policy offers no Loan"),
    (Candidate("X", lendable=False), "Loan", "no copy that lends"),
    (Candidate("X", lendable=False, note="illElectronic: Prohibited (explicit)"), "Copy",
     "illElectronic: Prohibited (explicit)"),
])
def test_excluded_holders_are_listed_with_the_reason(candidate, service, why):
    rota = build_rota([candidate], requester="us-req", service_type=service)
    assert rota.members == [] and why in rota.excluded[0][1]


def test_a_digital_only_member_takes_copies():
    rota = build_rota([Candidate("X", status="digital-only")], requester="R", service_type="Copy")
    assert rota.members == ["X"]


def test_a_lender_without_history_counts_as_the_median():
    rota = build_rota([Candidate("A", median_turnaround_hours=10),
                       Candidate("B", median_turnaround_hours=50),
                       Candidate("C", median_turnaround_hours=None)],
                      requester="R", service_type="Loan")
    assert rota.members == ["A", "C", "B"]
    assert "counted as the median, 30 h" in rota.entries[1].reason


@given(st.lists(st.builds(Candidate, member=st.sampled_from("ABCDEFG"),
                          status=st.sampled_from(["open", "limited", "closed", "digital-only"]),
                          loans_made=st.integers(0, 50), requests_borrowed=st.integers(0, 50),
                          median_turnaround_hours=st.none() | st.floats(1, 500)),
                max_size=10), st.randoms())
def test_the_rota_does_not_depend_on_the_order_holders_arrive_in(candidates, rnd):
    unique = list({c.member: c for c in candidates}.values())
    shuffled = unique[:]
    rnd.shuffle(shuffled)
    first = build_rota(unique, requester="R", service_type="Loan")
    again = build_rota(shuffled, requester="R", service_type="Loan")
    assert first.members == again.members
    assert len(first.members) + len(first.excluded) == len(unique)
