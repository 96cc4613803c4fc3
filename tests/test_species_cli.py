"""``tipline species`` as an operator runs it, and the loader behind it (the shipped files
plus an organisation's directory in TIPLINE_SPECIES_DIR)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from conversations.species import CatalogueError
from tipline import species_loader
from tipline.species_loader import ENV_DIR, clear_cache, load_catalogue

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "species_fixture.yaml"

# An organisation's own taxon, with names nobody else uses.
EXTRA = [
    {
        "id": "org_zorblax",
        "scientific": "Zorblaxia testiana",
        "rank": "species",
        "group": "invertebrate",
        "cites": "III",
        "products": ["shells", "live"],
        "names": {"en": ["zorblax snail"], "vi": ["ốc zorblax"]},
        "note": "Known only to this organisation.",
    }
]


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    clear_cache()
    yield
    clear_cache()


def run(*args: str, extra: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != ENV_DIR}
    if extra is not None:
        env[ENV_DIR] = str(extra)
    return subprocess.run(
        [sys.executable, "-m", "tipline", "species", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def org_dir(tmp_path: Path, taxa: list[dict[str, Any]] | None = None) -> Path:
    directory = tmp_path / "species"
    directory.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(EXTRA if taxa is None else taxa, allow_unicode=True)
    (directory / "ours.yaml").write_text(text, "utf-8")
    return directory


def pangolin_dir(tmp_path: Path) -> Path | None:
    """None when the shipped catalogue knows pangolins; else a directory with the fixture's
    pangolin entry, so that this test does not wait for the mammal data."""
    if any("pangolin" in t.names.get("en", ()) for t in load_catalogue({})):
        return None
    entries = yaml.safe_load(FIXTURE.read_text("utf-8"))
    return org_dir(tmp_path, [e for e in entries if e["id"] == "fx_pangolins"])


def test_search_json(tmp_path: Path) -> None:
    done = run("search", "pangolin scales", "--lang", "en", "--json", extra=pangolin_dir(tmp_path))
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["query"] == "pangolin scales" and out["lang"] == "en"
    best = out["candidates"][0]
    assert set(best) >= {
        "id",
        "scientific",
        "rank",
        "name",
        "cites",
        "product",
        "confidence",
        "confident",
        "matched",
    }
    assert "pangolin" in best["name"].lower()
    assert best["product"] == "scales" and best["product_name"] == "scale"
    assert best["confident"] and best["confidence"] >= out["confident_at"]
    assert best["cites"] == "I"
    assert len(out["candidates"]) <= 3


def test_search_text_in_the_tipsters_language(tmp_path: Path) -> None:
    extra = org_dir(tmp_path)
    done = run("search", "vỏ ốc zorblax", "--lang", "vi", extra=extra)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["confidence", "scientific", "name", "name", "CITES", "product"]
    assert "Zorblaxia testiana" in lines[1]
    assert "ốc zorblax" in lines[1]  # the Vietnamese name
    assert "III" in lines[1] and "vỏ (shells)" in lines[1]
    assert lines[1].split()[1:3] == ["1.00", "*"]


def test_search_falls_back_to_english_names(tmp_path: Path) -> None:
    done = run("search", "zorblax", "--lang", "sw", "--json", extra=org_dir(tmp_path))
    best = json.loads(done.stdout)["candidates"][0]
    assert best["name"] == "zorblax snail"


def test_search_limit_and_no_match(tmp_path: Path) -> None:
    extra = org_dir(tmp_path)
    done = run("search", "ivory", "--limit", "5", "--json", extra=extra)
    assert len(json.loads(done.stdout)["candidates"]) == 5
    done = run("search", "mobile phone", "--lang", "en", extra=extra)
    assert done.returncode == 0
    assert done.stdout.strip() == "No species matches 'mobile phone'."
    done = run("search", "mobile phone", "--json", extra=extra)
    assert json.loads(done.stdout)["candidates"] == []


def test_bad_options() -> None:
    assert run("search", "tembo", "--lang", "xx").returncode == 2
    assert run("search", "tembo", "--limit", "0").returncode == 2


def test_check_reports_counts(tmp_path: Path) -> None:
    done = run("check", extra=org_dir(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].endswith(" taxa")
    assert "zh_Hans" in done.stdout


def test_an_invalid_organisation_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = [dict(EXTRA[0], products=["scale"])]
    done = run("search", "zorblax", extra=org_dir(tmp_path, bad))
    assert done.returncode == 1
    assert "ours.yaml: entry 1 (org_zorblax): 'products': unknown product form 'scale'" in (
        done.stderr
    )
    assert "Traceback" not in done.stderr


# ----------------------------------------------------------------------------- loader
def test_the_organisation_directory_adds_taxa_and_product_words(tmp_path: Path) -> None:
    extra = org_dir(tmp_path)
    (extra / "products.yaml").write_text("shells:\n  en: [zorbshell]\n", "utf-8")
    shipped = load_catalogue({})
    both = load_catalogue({ENV_DIR: str(extra)})
    assert len(both) == len(shipped) + 1
    assert shipped.get("org_zorblax") is None
    best = both.search("zorblax zorbshell", "en")[0]
    assert (best.taxon.id, best.product, best.product_stated) == ("org_zorblax", "shells", True)
    assert both.search("turtle shell", "en")  # the shipped words are still there


def test_the_catalogue_is_cached(tmp_path: Path) -> None:
    extra = org_dir(tmp_path)
    first = load_catalogue({ENV_DIR: str(extra)})
    assert load_catalogue({ENV_DIR: str(extra)}) is first
    clear_cache()
    assert load_catalogue({ENV_DIR: str(extra)}) is not first


def test_loader_errors(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="not a directory"):
        load_catalogue({ENV_DIR: str(tmp_path / "missing")})
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "bad.yaml").write_text("- id: [unclosed\n", "utf-8")
    with pytest.raises(CatalogueError, match=r"bad\.yaml: not valid YAML"):
        load_catalogue({ENV_DIR: str(broken)})
    clash = org_dir(tmp_path / "clash", [dict(EXTRA[0], id=next(iter(load_catalogue({}))).id)])
    with pytest.raises(CatalogueError, match="is already used in species_data/"):
        load_catalogue({ENV_DIR: str(clash)})


def test_the_shipped_files_are_read_from_the_package() -> None:
    names = {f.name for f in species_loader.builtin_dir().iterdir()}
    assert species_loader.PRODUCTS_FILE in names
