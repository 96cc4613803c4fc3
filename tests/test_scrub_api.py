"""The public surface of ``privacy.scrub`` and its smaller parts: the ICC policy, the
XML rewriter, the format detection by content."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest

import privacy.scrub as scrub_package
from privacy.scrub import (
    DEFAULT_LIMITS,
    KINDS,
    MIME_TYPES,
    REASONS,
    REMOVED_KINDS,
    Limits,
    ScrubError,
    ScrubResult,
    detect_kind,
    scrub,
)
from privacy.scrub.icc import acceptable_profile
from privacy.scrub.xmlclean import Attr, Decision, Policy, rewrite

from .samples import icc_profile
from .samples.images import jpeg_with_standard_icc, standard_icc


def test_the_public_api() -> None:
    assert set(scrub_package.__all__) >= {"scrub", "ScrubResult", "ScrubError", "Limits",
                                          "DEFAULT_LIMITS", "REMOVED_KINDS"}  # fmt: skip
    assert REMOVED_KINDS == ("location", "camera", "author", "timestamps", "software",
                             "thumbnail", "comments", "xmp", "iptc", "embedded_files",
                             "scripts", "revisions", "printer", "other")  # fmt: skip
    assert set(REASONS) == {"too_large", "unsupported", "malformed", "bomb", "timeout",
                            "macros", "encrypted", "verify_failed"}  # fmt: skip
    assert set(KINDS) == set(MIME_TYPES) and len(KINDS) == 21
    assert Limits() == DEFAULT_LIMITS
    assert DEFAULT_LIMITS.max_bytes == 20 * 1024 * 1024 and DEFAULT_LIMITS.seconds == 30.0
    assert dataclasses.is_dataclass(ScrubResult) and ScrubResult.__dataclass_params__.frozen  # type: ignore[attr-defined]


def test_result_fields() -> None:
    result = scrub(jpeg_with_standard_icc())
    assert result.sha256 == hashlib.sha256(result.data).hexdigest()
    assert isinstance(result.removed, frozenset)
    assert "sha256" not in repr(result) or result.sha256[:16] in repr(result)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.kind = "png"  # type: ignore[misc]


def test_errors_carry_a_stable_reason() -> None:
    with pytest.raises(ScrubError) as refused:
        scrub(b"")
    assert refused.value.reason in REASONS and refused.value.kind is None
    assert detect_kind(b"%PDF-1.4\n") == "pdf"
    assert detect_kind(b"\x1a\x45\xdf\xa3\x42\x82\x84webm") == "webm"


@pytest.mark.parametrize(
    ("description", "copyright_text", "kept"),
    [
        ("sRGB IEC61966-2.1", "Copyright (c) 1998 Hewlett-Packard Company", True),
        ("Display P3", "Copyright Apple Inc., 2017", True),
        ("Jane Tipster's monitor", "No copyright, use freely", False),
        ("sRGB", "Copyright 2019 Jane Tipster", False),
        ("sRGB\x07", "", False),
    ],
)
def test_icc_profiles_are_kept_only_when_impersonal(
    description: str, copyright_text: str, kept: bool
) -> None:
    profile = icc_profile(description, copyright_text)
    result = acceptable_profile(profile)
    assert (result is not None) == kept
    if result is not None:
        assert result[24:36] == bytes(12) and result[48:56] == bytes(8)  # date, device
        assert acceptable_profile(result) == result  # normalised once and for all
    assert acceptable_profile(standard_icc()) is not None
    assert acceptable_profile(profile[:100]) is None


class _DropSecret(Policy):
    def element(
        self, ns: str, local: str, attrs: list[Attr], parents: list[tuple[str, str]]
    ) -> Decision | None:
        return Decision(drop=True, kind="author") if local == "secret" else None

    def attribute(self, ns: str, local: str, attr: Attr) -> tuple[str | None, str] | None:
        return (None, "revisions") if attr.local == "rsid" else None


def test_the_xml_rewriter_keeps_prefixes_and_drops_what_the_policy_says() -> None:
    source = (
        b'<?xml version="1.0" encoding="UTF-8"?><!-- made by Jane -->'
        b'<w:doc xmlns:w="urn:w" xmlns:mc="urn:mc" mc:Ignorable="w14" w:rsid="0A">'
        b'<w:p w:rsid="0B" a="&quot;x&amp;y&lt;"><w:secret>Jane</w:secret>text &amp; more</w:p>'
        b"<w:e/></w:doc>"
    )
    out, found = rewrite(source, _DropSecret())
    assert out == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<w:doc xmlns:w="urn:w" xmlns:mc="urn:mc" mc:Ignorable="w14">'
        b'<w:p a="&quot;x&amp;y&lt;">text &amp; more</w:p><w:e/></w:doc>'
    )
    assert found == {"author", "revisions"}
    assert rewrite(out, _DropSecret())[1] == set()


def test_the_xml_rewriter_refuses_entities() -> None:
    laughs = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'
    with pytest.raises(ScrubError) as refused:
        rewrite(laughs, Policy())
    assert refused.value.reason == "malformed"
