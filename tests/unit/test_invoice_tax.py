"""Invoice tax math: integer minor units, half-up rounding, both tax modes."""

from __future__ import annotations

import pytest

from hablo.payments.invoices import (
    InvoiceError,
    TaxPolicy,
    compute_totals,
    div_half_up,
    tax_from_gross,
    tax_on_net,
    tax_policy,
)


def test_half_up_division() -> None:
    assert div_half_up(5, 2) == 3  # 2.5 -> 3
    assert div_half_up(7, 2) == 4  # 3.5 -> 4
    assert div_half_up(4, 3) == 1
    assert div_half_up(0, 7) == 0


def test_tax_inside_a_gross_amount() -> None:
    assert tax_from_gross(12_100, 2100) == 2_100  # 121,00 with 21 % inside
    # 10,00 gross at 21 %: net 8,2644... -> 8,26, tax 1,74
    assert tax_from_gross(1_000, 2100) == 174
    assert tax_from_gross(1_000, 0) == 0


def test_tax_on_top_of_a_net_amount() -> None:
    assert tax_on_net(10_000, 2100) == 2_100
    assert tax_on_net(1_005, 1000) == 101  # 100,5 cents -> 101 (half up)
    assert tax_on_net(1_050, 1050) == 110  # 10.5 % of 10,50 = 110,25 -> 110


def test_policy_from_settings() -> None:
    assert tax_policy({}) == TaxPolicy(0, True)
    settings = {"invoicing": {"tax_rate_percent": 10.5, "tax_included": False}}
    policy = tax_policy(settings)
    assert policy == TaxPolicy(1050, False) and policy.rate_percent == "10.5"
    assert tax_policy({"invoicing": {"tax_rate_percent": "21"}}).rate_percent == "21"
    for bad in (-1, 101, "x", 10.123):
        with pytest.raises(InvoiceError):
            tax_policy({"invoicing": {"tax_rate_percent": bad}})


def test_totals_with_tax_included_in_the_prices() -> None:
    items = [("Corte", 2, 1_000), ("Peinado", 1, 1_100)]
    totals = compute_totals(items, TaxPolicy(2100, True), paid_minor=None)
    assert totals.total_minor == 3_100
    assert totals.tax_minor == 3_100 - 2_562  # net 3100/1.21 = 2561.98 -> 2562
    assert [line["amount_minor"] for line in totals.lines] == [2_000, 1_100]


def test_totals_with_tax_on_top_of_the_prices() -> None:
    items = [("Corte", 2, 1_000), ("Peinado", 1, 1_100)]
    totals = compute_totals(items, TaxPolicy(2100, False), paid_minor=None)
    assert totals.tax_minor == 651  # 3100 * 0.21
    assert totals.total_minor == 3_751


def test_a_paid_amount_is_always_the_total() -> None:
    included = compute_totals([("Corte", 1, 0)], TaxPolicy(2100, True), paid_minor=1_000)
    assert (included.total_minor, included.tax_minor) == (1_000, 174)
    assert included.lines[0]["unit_minor"] == 1_000  # gross prices shown
    excluded = compute_totals([("Corte", 1, 0)], TaxPolicy(2100, False), paid_minor=1_000)
    assert (excluded.total_minor, excluded.tax_minor) == (1_000, 174)
    assert excluded.lines[0]["unit_minor"] == 826  # net shown, tax added below
