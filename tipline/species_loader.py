"""Loading the species catalogue: the files shipped in ``conversations/species_data/`` and
an organisation's own, from the directory named by ``TIPLINE_SPECIES_DIR``.

Every ``*.yaml`` file there is a list of taxa (docs/species.md), except ``products.yaml``,
which holds the product words; an organisation's ``products.yaml`` adds words to the
shipped ones. The catalogue is built once per set of directories and cached.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml

from conversations.species import Catalogue, CatalogueError, Document

__all__ = [
    "ENV_DIR",
    "PRODUCTS_FILE",
    "builtin_dir",
    "clear_cache",
    "load_catalogue",
    "read_documents",
    "species_directories",
]

ENV_DIR = "TIPLINE_SPECIES_DIR"
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when there
PRODUCTS_FILE = "products.yaml"


def builtin_dir() -> Traversable:
    """The catalogue files shipped with Tipline."""
    return resources.files("conversations").joinpath("species_data")


def _yaml_files(directory: Traversable) -> list[Traversable]:
    return sorted(
        (f for f in directory.iterdir() if f.name.endswith(".yaml") and f.is_file()),
        key=lambda f: f.name,
    )


def _read(file: Traversable, label: str) -> Any:
    try:
        text = file.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogueError(f"{label}: cannot read: {exc}") from exc
    try:
        return yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{label}: not valid YAML: {exc}") from exc


def _merge_products(base: Any, extra: Any, label: str) -> Any:
    """An organisation's product words are added to the shipped ones."""
    if extra is None:
        return base
    if not isinstance(base, dict) or not isinstance(extra, dict):
        raise CatalogueError(f"{label}: must be a mapping of product form -> language -> words")
    merged: dict[Any, Any] = {form: dict(langs) for form, langs in base.items()}
    for form, langs in extra.items():
        if not isinstance(langs, dict):
            raise CatalogueError(f"{label}: {form!r}: must be a mapping of language -> words")
        target = merged.setdefault(form, {})
        for lang, words in langs.items():
            have = target.get(lang) or []
            more = words if isinstance(words, list) else [words]
            target[lang] = [*have, *more]
    return merged


def read_documents(directories: Iterable[Traversable]) -> tuple[list[Document], Any]:
    """The taxa documents of every directory (files in name order) and the product words."""
    taxa: list[Document] = []
    products: Any = None
    for directory in directories:
        if not directory.is_dir():
            raise CatalogueError(f"{directory}: not a directory of species files")
        for file in _yaml_files(directory):
            label = f"species_data/{file.name}" if directory == builtin_dir() else str(file)
            data = _read(file, label)
            if file.name == PRODUCTS_FILE:
                products = data if products is None else _merge_products(products, data, label)
            else:
                taxa.append(Document(label, data))
    if products is None:
        raise CatalogueError(f"no {PRODUCTS_FILE} found with the species files")
    return taxa, Document(PRODUCTS_FILE, products)


def species_directories(env: Mapping[str, str] | None = None) -> tuple[Traversable, ...]:
    """The shipped directory, and the organisation's (``TIPLINE_SPECIES_DIR``) if set."""
    env = os.environ if env is None else env
    extra = env.get(ENV_DIR, "").strip()
    if not extra:
        return (builtin_dir(),)
    return (builtin_dir(), Path(extra))


@lru_cache(maxsize=4)
def _load(directories: tuple[Traversable, ...]) -> Catalogue:
    taxa, products = read_documents(directories)
    return Catalogue.from_documents(taxa, products)


def load_catalogue(env: Mapping[str, str] | None = None) -> Catalogue:
    """The catalogue (cached): the shipped files and those in ``TIPLINE_SPECIES_DIR``.
    Raises :class:`CatalogueError` when a file is missing, unreadable or invalid."""
    return _load(species_directories(env))


def clear_cache() -> None:
    """Forget the cached catalogues (after the files changed)."""
    _load.cache_clear()
