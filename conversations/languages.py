"""The languages Tipline supports, English (the source) first.

They follow the trafficking routes: source countries in Central, East and Southern
Africa, transit hubs in Southeast Asia, consumer markets in China and Vietnam, timber and
fisheries in Latin America and the Russian Far East. A questionnaire lists the ones it
offers; a language is shown to tipsters only once its catalogue is complete.
"""

from __future__ import annotations

__all__ = ["SOURCE_LANGUAGE", "SUPPORTED_LANGUAGES"]

SOURCE_LANGUAGE = "en"
SUPPORTED_LANGUAGES: tuple[str, ...] = (
    "en", "fr", "es", "pt", "ar", "sw", "zh_Hans", "vi", "th", "id", "ms", "lo", "km", "my",
    "hi", "ru",
)  # fmt: skip
