"""The parser's property over real-world variations (crawler.portal.variants): for any generated report in
either format, printed with any coherent combination of variants, every cell comes back right, or - only
where the rendering destroyed it - null with an issue naming it. A wrong value is never acceptable.

``check_parse`` states the rule; docs/generator-variants.md says what each variant models and destroys.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from crawler.portal.generator import generate_report
from crawler.portal.variants import MEDIA, VARIANTS, Rendered, check_parse, random_combination, render_variant
from crawler.report import parse_report

FORMATS = st.sampled_from(("2021", "2019"))
SEEDS = st.integers(min_value=0, max_value=10**6)
# no shrinking: a failure prints its seed and variants, which reproduce it exactly; shrinking a failing
# parse would only spend the time budget
_QUICK = {"deadline": None, "database": None, "phases": (Phase.explicit, Phase.generate),
          "suppress_health_check": [HealthCheck.too_slow]}


def _report(seed: int, fmt: str) -> Any:
    return generate_report(seed, fmt, agency="江城市统计局", year=2023 if fmt == "2021" else 2020)


def _check(r: Rendered, seed: int) -> None:
    got = parse_report(r.body, content_type=r.content_type).to_dict()
    problems = check_parse(got, r)
    assert problems == [], f"seed={seed} fmt={r.fmt} variants={r.variants}: {len(problems)} problems: {problems[:8]}"


@settings(max_examples=8, **_QUICK)  # type: ignore[arg-type]
@given(seed=SEEDS, fmt=FORMATS, medium=st.sampled_from(MEDIA))
def test_the_base_renderings_parse(seed: int, fmt: str, medium: str) -> None:
    variants = () if medium == "html" else ("text_lines",)
    _check(render_variant(_report(seed, fmt), variants, seed), seed)


@settings(max_examples=250, **_QUICK)  # type: ignore[arg-type]
@given(seed=SEEDS, fmt=FORMATS, combo=st.integers(min_value=0, max_value=10**9),
       medium=st.sampled_from((None, *MEDIA)))
def test_random_combinations_parse(seed: int, fmt: str, combo: int, medium: str | None) -> None:
    variants = random_combination(random.Random(combo), medium)
    _check(render_variant(_report(seed, fmt), variants, seed), seed)


@pytest.mark.parametrize("name", list(VARIANTS))
@settings(max_examples=4, **_QUICK)  # type: ignore[arg-type]
@given(seed=SEEDS, fmt=FORMATS)
def test_single_variant_parses(name: str, seed: int, fmt: str) -> None:
    _check(render_variant(_report(seed, fmt), (name,), seed), seed)


def _every_variant(medium: str, rng: random.Random) -> tuple[str, ...]:
    """Every variant that can be switched on together for ``medium``: one member of each exclusive family
    (drawn), every member of the other families."""
    from crawler.portal.variants import FAMILIES, compatible, family_members

    out: list[str] = []
    for family in FAMILIES.values():
        members = [n for n in family_members(family.name) if medium in VARIANTS[n].media]
        if family.exclusive:
            rng.shuffle(members)
            members = members[:1] if not out or compatible([*out, *members[:1]]) else members[1:2]
        out.extend(m for m in members if compatible([*out, m]))
    return tuple(out)


@settings(max_examples=12, **_QUICK)  # type: ignore[arg-type]
@given(seed=SEEDS, fmt=FORMATS, medium=st.sampled_from(MEDIA))
def test_every_variant_switched_on_parses(seed: int, fmt: str, medium: str) -> None:
    variants = _every_variant(medium, random.Random(seed))
    assert len(variants) >= 15
    _check(render_variant(_report(seed, fmt), variants, seed), seed)
