"""``tipline species``: search the species catalogue as the bot does, and check its files."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

import click

from conversations.species import LANGUAGES, Candidate, Catalogue, CatalogueError
from tipline.species_loader import ENV_DIR, load_catalogue

__all__ = ["command"]


def _catalogue() -> Catalogue:
    try:
        return load_catalogue()
    except CatalogueError as exc:
        raise click.ClickException(f"species catalogue: {exc}") from exc


def _width(text: str) -> int:
    """Columns a text takes in a terminal (wide East Asian characters take two)."""
    return sum(
        0
        if unicodedata.category(c).startswith("M")
        else 2
        if unicodedata.east_asian_width(c) in "WF"
        else 1
        for c in text
    )


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def _as_dict(catalogue: Catalogue, candidate: Candidate, lang: str) -> dict[str, Any]:
    taxon = candidate.taxon
    return {
        "id": taxon.id,
        "scientific": taxon.scientific,
        "rank": taxon.rank,
        "group": taxon.group,
        "name": taxon.name_in(lang),
        "cites": taxon.cites,
        "product": candidate.product,
        "product_name": (
            None if candidate.product is None else catalogue.product_name(candidate.product, lang)
        ),
        "confidence": candidate.confidence,
        "confident": candidate.confidence >= catalogue.CONFIDENT,
        "matched": candidate.matched,
        "note": taxon.note,
    }


@click.group("species")
def command() -> None:
    """The species catalogue: what tipsters' words for a species match."""


@command.command("search")
@click.argument("query")
@click.option(
    "--lang",
    type=click.Choice(LANGUAGES),
    default=None,
    help="The tipster's language: its names come first and are shown (default: English).",
)
@click.option(
    "--limit",
    type=click.IntRange(1, 50),
    default=3,
    show_default=True,
    help="How many candidates to show.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the candidates as JSON.")
def search(query: str, lang: str | None, limit: int, as_json: bool) -> None:
    """Rank the taxa that QUERY may name ("pangolin scales", "ngà voi", "穿山甲片")."""
    catalogue = _catalogue()
    shown = lang or "en"
    candidates = catalogue.search(query, lang, limit)
    rows = [_as_dict(catalogue, c, shown) for c in candidates]
    if as_json:
        out = {"query": query, "lang": lang, "confident_at": catalogue.CONFIDENT}
        click.echo(json.dumps({**out, "candidates": rows}, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo(f"No species matches {query!r}.")
        return
    header = ["", "confidence", "scientific name", "name", "CITES", "product"]
    table = [
        [
            str(i),
            f"{row['confidence']:.2f}" + (" *" if row["confident"] else ""),
            row["scientific"],
            row["name"],
            row["cites"] or "-",
            "-" if row["product"] is None else f"{row['product_name']} ({row['product']})",
        ]
        for i, row in enumerate(rows, 1)
    ]
    widths = [max(_width(line[col]) for line in [header, *table]) for col in range(len(header))]
    for line in [header, *table]:
        click.echo("  ".join(_pad(cell, w) for cell, w in zip(line, widths, strict=True)).rstrip())
    click.echo(f"* confident (>= {catalogue.CONFIDENT:.2f})")


@command.command("check")
def check() -> None:
    """Load every catalogue file (and those in TIPLINE_SPECIES_DIR), report problems and
    how many names each language has."""
    catalogue = _catalogue()
    taxa = catalogue.taxa
    click.echo(f"{len(taxa)} taxa")
    by_group: dict[str, int] = {}
    for taxon in taxa:
        by_group[taxon.group] = by_group.get(taxon.group, 0) + 1
    click.echo("  " + ", ".join(f"{group}: {n}" for group, n in sorted(by_group.items())))
    click.echo("taxa with names in each language:")
    for lang in LANGUAGES:
        named = sum(1 for taxon in taxa if taxon.names.get(lang))
        total = sum(len(taxon.names.get(lang, ())) for taxon in taxa)
        click.echo(f"  {lang:8} {named:4} taxa, {total:5} names")
    click.echo(f"(extra files: set {ENV_DIR} to a directory of *.yaml files)")
