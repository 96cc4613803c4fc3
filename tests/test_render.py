"""Rendering actions in the tipster's language, and reading what the tipster types."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.pofile import read_po, write_po

from bots import render
from bots.render import Renderer, available_languages, interpret
from conversations import (
    Ask,
    Back,
    Cancel,
    ChangeLanguage,
    Choose,
    CountryName,
    Event,
    Help,
    LanguageName,
    Msg,
    Option,
    ShowSafety,
    ShowSummary,
    Skip,
    SummaryItem,
    Text,
    parse_questionnaire,
)
from conversations import messages as m
from conversations.answers import (
    AttachmentInfo,
    AttachmentsAnswer,
    ChoiceAnswer,
    CountryAnswer,
    LocationAnswer,
    Skipped,
    TextAnswer,
)
from conversations.engine import BACK_OPTION, SKIP_OPTION
from conversations.messages import NP_
from conversations.questionnaire import Question

ROOT = Path(__file__).parents[1]
QUESTIONNAIRE = parse_questionnaire(
    (ROOT / "conversations" / "default_questionnaire.yaml").read_text(encoding="utf-8")
)
LANGUAGES = QUESTIONNAIRE.languages


def question(qid: str) -> Question:
    found = QUESTIONNAIRE.get(qid)
    assert found is not None
    return found


def choice_ask(qid: str, *, skippable: bool | None = None, can_go_back: bool = True) -> Ask:
    """The Ask for a choice question of the default questionnaire, built by hand."""
    q = question(qid)
    return Ask(
        q.id,
        Msg(q.prompt),
        tuple(Option(o.id, Msg(o.label)) for o in q.options),
        "choice",
        "en",
        (not q.required) if skippable is None else skippable,
        can_go_back,
    )


CATEGORY = choice_ask("category")  # required: not skippable
WHEN = choice_ask("when")  # skippable
LANGUAGE = Ask(
    "language",
    Msg(question("language").prompt),
    tuple(Option(code, LanguageName(code)) for code in LANGUAGES),
    "choice",
    "en",
)
DESCRIPTION = Ask("description", Msg(question("description").prompt), (), "text", "en")
PLACE = Ask("place", Msg(question("place").prompt), (), "text", "en", True, True)
LOCATION = Ask("location", Msg(question("location").prompt), (), "location", "en", True, True)
EVIDENCE = Ask(
    "evidence",
    Msg(question("evidence").prompt),
    (Option("done", Msg(m.DONE)),),
    "attachments",
    "en",
)


@pytest.fixture(scope="module")
def en() -> Renderer:
    return Renderer("en", QUESTIONNAIRE)


def capitalised(name: str) -> str:
    return name[:1].upper() + name[1:]


def own_name(code: str) -> str:
    locale = Locale.parse(code)
    name = locale.get_display_name(locale)
    assert name
    return capitalised(name)


# -- interpret: numbers --------------------------------------------------------------------


@pytest.mark.parametrize("number", range(1, 8))
def test_number_picks_that_option(number: int, en: Renderer) -> None:
    expected = question("category").options[number - 1].id
    assert interpret(CATEGORY, str(number), en) == Choose("category", expected)


@pytest.mark.parametrize(("typed", "option"), [(" 2 ", "trafficking"), ("０３", "sale")])
def test_number_with_spaces_or_full_width(typed: str, option: str, en: Renderer) -> None:
    assert interpret(CATEGORY, typed, en) == Choose("category", option)


@pytest.mark.parametrize("typed", ["8", "99", "-1", "1.5", "１０"])
def test_number_out_of_range_is_text(typed: str, en: Renderer) -> None:
    assert interpret(CATEGORY, typed, en) == Text(typed)


def test_numbers_follow_the_asks_own_options(en: Renderer) -> None:
    ask = Ask("x", Msg("Pick"), (Option("b", Msg("Bee")), Option("a", Msg("Ay"))), "choice", "en")
    assert interpret(ask, "1", en) == Choose("x", "b")
    assert interpret(ask, "2", en) == Choose("x", "a")
    assert interpret(ask, "3", en) == Text("3")


def test_zero_skips_only_a_skippable_question(en: Renderer) -> None:
    assert WHEN.skippable
    assert interpret(WHEN, "0", en) == Choose("when", SKIP_OPTION)
    assert interpret(WHEN, " 0 ", en) == Choose("when", SKIP_OPTION)
    assert not CATEGORY.skippable
    assert interpret(CATEGORY, "0", en) == Text("0")


def test_zero_on_a_skippable_text_question_skips(en: Renderer) -> None:
    assert interpret(PLACE, "0", en) == Choose("place", SKIP_OPTION)


def test_skip_option_is_reserved() -> None:
    assert SKIP_OPTION == "_skip"
    assert all(o.id != SKIP_OPTION for q in QUESTIONNAIRE.questions for o in q.options)


def test_language_question_by_number(en: Renderer) -> None:
    assert interpret(LANGUAGE, "2", en) == Choose("language", "fr")
    assert interpret(LANGUAGE, "16", en) == Choose("language", "ru")
    assert interpret(LANGUAGE, "17", en) == Text("17")


def test_attachments_done_by_number(en: Renderer) -> None:
    assert interpret(EVIDENCE, "1", en) == Choose("evidence", "done")
    assert interpret(EVIDENCE, "done", en) == Choose("evidence", "done")


def test_numbers_are_text_on_a_text_question(en: Renderer) -> None:
    assert interpret(DESCRIPTION, "5", en) == Text("5")
    assert interpret(DESCRIPTION, "0", en) == Text("0")  # required, so 0 is an answer
    # Even if a text question offered options, a number stays the tipster's text.
    with_options = Ask("description", Msg("?"), CATEGORY.options, "text", "en", True)
    assert interpret(with_options, "2", en) == Text("2")
    assert interpret(with_options, "poaching", en) == Choose("description", "poaching")


def test_numbers_are_text_on_a_location_question(en: Renderer) -> None:
    assert interpret(LOCATION, "-1.2, 36.8", en) == Text("-1.2, 36.8")
    assert interpret(LOCATION, "1", en) == Text("1")
    with_options = Ask("location", Msg("?"), CATEGORY.options, "location", "en", True)
    assert interpret(with_options, "1", en) == Text("1")
    assert interpret(with_options, "-1.2921 36.8219", en) == Text("-1.2921 36.8219")


def test_a_digit_int_cannot_read_does_not_crash(en: Renderer) -> None:
    assert interpret(CATEGORY, "፩", en) in (Text("፩"), Choose("category", "poaching"))


# -- interpret: option texts ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "option"),
    [
        ("Poaching", "poaching"),
        ("poaching", "poaching"),
        ("  POACHING ", "poaching"),
        ("trafficking   or smuggling", "trafficking"),
        ("Sale in a market, shop or online", "sale"),
        ("something else", "other"),
        ("ＣＯＲＲＵＰＴＩＯＮ", "corruption"),
    ],
)
def test_option_text_picks_that_option(typed: str, option: str, en: Renderer) -> None:
    assert interpret(CATEGORY, typed, en) == Choose("category", option)


def test_part_of_an_option_text_is_text(en: Renderer) -> None:
    assert interpret(CATEGORY, "Sale in a market", en) == Text("Sale in a market")


def test_choice_option_texts_of_when(en: Renderer) -> None:
    assert interpret(WHEN, "It is still going on", en) == Choose("when", "ongoing")


@pytest.mark.parametrize("code", LANGUAGES)
def test_language_name_picks_that_language(code: str, en: Renderer) -> None:
    assert interpret(LANGUAGE, own_name(code), en) == Choose("language", code)
    assert interpret(LANGUAGE, own_name(code).upper(), en) == Choose("language", code)


def test_skip_text_skips_when_skippable(en: Renderer) -> None:
    typed = "I DON'T KNOW / prefer not to say"
    assert interpret(WHEN, typed, en) == Choose("when", SKIP_OPTION)
    assert interpret(PLACE, typed, en) == Choose("place", SKIP_OPTION)
    assert interpret(CATEGORY, typed, en) == Text(typed)
    # The option "I don't know" of "when" is an answer, not a skip.
    assert interpret(WHEN, "i don't know", en) == Choose("when", "unknown")


# -- interpret: commands and free text ---------------------------------------------------

COMMANDS: list[tuple[str, Event]] = [
    ("cancel", Cancel()),
    ("/cancel", Cancel()),
    ("Cancel", Cancel()),
    ("BACK", Back()),
    ("/back", Back()),
    ("back", Back()),
    ("skip", Skip()),
    ("/SKIP", Skip()),
    ("help", Help()),
    ("  Help  ", Help()),
    ("/help", Help()),
    ("language", ChangeLanguage()),
    ("/language", ChangeLanguage()),
    ("safety", ShowSafety()),
    ("/safety", ShowSafety()),
]


@pytest.mark.parametrize(("typed", "event"), COMMANDS)
@pytest.mark.parametrize(
    "ask", [None, CATEGORY, WHEN, DESCRIPTION, LOCATION, EVIDENCE, LANGUAGE], ids=repr
)
def test_command_words(typed: str, event: Event, ask: Ask | None, en: Renderer) -> None:
    assert interpret(ask, typed, en) == event


@pytest.mark.parametrize(
    "typed",
    [
        "cancelled",
        "please help",
        "/start",
        "//help",
        "help me",
        "skipping",
        "Three men with a truck of ivory",
        "  spaces kept  ",
        "",
        "   ",
        "肯尼亚",
        "<b>bold</b>",
    ],
)
@pytest.mark.parametrize("ask", [None, DESCRIPTION, CATEGORY], ids=repr)
def test_anything_else_is_text_as_typed(typed: str, ask: Ask | None, en: Renderer) -> None:
    assert interpret(ask, typed, en) == Text(typed)


def test_without_an_ask_numbers_are_text(en: Renderer) -> None:
    assert interpret(None, "1", en) == Text("1")
    assert interpret(None, "0", en) == Text("0")


# -- Renderer.text -------------------------------------------------------------------------


def test_text_without_values_is_the_msgid(en: Renderer) -> None:
    assert en.text(Msg(m.WELCOME)) == m.WELCOME
    assert en.msgid(m.SUMMARY_SKIPPED) == "(not answered)"


def test_text_with_values(en: Renderer) -> None:
    assert (
        en.text(Msg.of(m.REASON_TOO_LONG, max=4000))
        == "That is too long. Please keep it under 4000 characters."
    )
    assert (
        en.text(Msg.of(m.SUMMARY_LOCATION, latitude="-1.29", longitude="36.82", precision="x"))
        == "-1.29, 36.82 (x)"
    )


def test_values_are_not_formatted_twice(en: Renderer) -> None:
    assert en.text(Msg.of("Hello {name}", name="{other}")) == "Hello {other}"


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, "0 files received so far."),
        (1, "1 file received so far."),
        (2, "2 files received so far."),
        (11, "11 files received so far."),
    ],
)
def test_plural_in_english(n: int, expected: str, en: Renderer) -> None:
    msg = Msg.plural_of(m.FILES_RECEIVED, n)
    assert en.text(msg) == expected


def test_plural_with_other_values(en: Renderer) -> None:
    msg = Msg.plural_of(NP_("{n} file in {where}", "{n} files in {where}"), 3, where="Arusha")
    assert en.text(msg) == "3 files in Arusha"


def test_language_without_a_catalogue_shows_english() -> None:
    renderer = Renderer("xx", QUESTIONNAIRE)
    assert renderer.text(Msg.of(m.REASON_TOO_MANY_FILES, max=10)) == (
        "You cannot send more than 10 files. Press Done to continue."
    )


# -- labels: language and country names -----------------------------------------------------


@pytest.mark.parametrize("code", LANGUAGES)
def test_language_name_in_the_language_itself(code: str, en: Renderer) -> None:
    assert en.label(LanguageName(code)) == own_name(code)
    # Whatever language the renderer is in.
    assert Renderer("ru", QUESTIONNAIRE).label(LanguageName(code)) == own_name(code)


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("en", "English"),
        ("fr", "Français"),
        ("sw", "Kiswahili"),
        ("es", "Español"),
        ("ru", "Русский"),
        ("zh_Hans", "中文 (简体)"),
    ],
)
def test_language_names_examples(code: str, name: str, en: Renderer) -> None:
    assert en.label(LanguageName(code)) == name


@pytest.mark.parametrize("code", ["KE", "TZ", "CD", "VN"])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_country_name_in_the_renderers_language(lang: str, code: str) -> None:
    expected = str(Locale.parse(lang).territories[code])
    assert Renderer(lang, QUESTIONNAIRE).label(CountryName(code)) == expected


def test_country_name_examples() -> None:
    assert Renderer("fr", QUESTIONNAIRE).label(CountryName("TZ")) == "Tanzanie"
    assert Renderer("zh_Hans", QUESTIONNAIRE).label(CountryName("KE")) == "肯尼亚"
    assert Renderer("en", QUESTIONNAIRE).label(CountryName("KE")) == "Kenya"


def test_unknown_country_code_is_shown_as_is(en: Renderer) -> None:
    assert en.label(CountryName("QQ")) == "QQ"


def test_msg_label(en: Renderer) -> None:
    assert en.label(Msg(m.PRECISION_1KM)) == "About 1 km"


# -- Renderer.answer ------------------------------------------------------------------------


def test_answer_skipped(en: Renderer) -> None:
    assert en.answer("when", Skipped()) == "(not answered)"


def test_answer_text(en: Renderer) -> None:
    text = "Three men, one truck.\nThey left at night."
    assert en.answer("description", TextAnswer(text)) == text


@pytest.mark.parametrize(
    ("step", "option", "shown"),
    [
        ("category", "poaching", "Poaching"),
        ("category", "sale", "Sale in a market, shop or online"),
        ("when", "unknown", "I don't know"),
        ("followup", "yes", "Yes"),
        ("followup", "no", "No"),
    ],
)
def test_answer_choice(step: str, option: str, shown: str, en: Renderer) -> None:
    assert en.answer(step, ChoiceAnswer(option)) == shown


@pytest.mark.parametrize("code", ["fr", "sw", "ar", "km", "en"])
def test_answer_to_the_language_question(code: str, en: Renderer) -> None:
    assert en.answer("language", ChoiceAnswer(code)) == own_name(code)


def test_answer_choice_not_in_the_questionnaire(en: Renderer) -> None:
    assert en.answer("category", ChoiceAnswer("gone")) == "gone"
    assert en.answer("no_such_step", ChoiceAnswer("x")) == "x"


def test_answer_country(en: Renderer) -> None:
    assert en.answer("country", CountryAnswer("KE", "kenia")) == "Kenya"
    fr = Renderer("fr", QUESTIONNAIRE)
    assert fr.answer("country", CountryAnswer("TZ", "tanzania")) == str(
        Locale.parse("fr").territories["TZ"]
    )


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (LocationAnswer("country"), "Country only"),
        (LocationAnswer("1km", -1.29, 36.82), "-1.29, 36.82 (About 1 km)"),
        (LocationAnswer("10km", -1.3, 36.8), "-1.3, 36.8 (About 10 km)"),
        (LocationAnswer("exact", -1.29215, 36.8219), "-1.29215, 36.8219 (Exact)"),
        (LocationAnswer("exact", 0.0, 0.0), "0, 0 (Exact)"),
        (LocationAnswer("exact", None, None), "Exact"),
        (LocationAnswer("1km", -1.29, None), "About 1 km"),
    ],
)
def test_answer_location(value: LocationAnswer, shown: str, en: Renderer) -> None:
    assert en.answer("location", value) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (LocationAnswer("exact", -1.29215, 36.82195), "-1.29215, 36.82195 (Exact)"),
        (LocationAnswer("exact", 0.00001, 100.12345), "0.00001, 100.12345 (Exact)"),
    ],
)
def test_exact_location_is_shown_as_kept(value: LocationAnswer, shown: str, en: Renderer) -> None:
    assert en.answer("location", value) == shown


@pytest.mark.parametrize(
    ("count", "shown"), [(0, "(not answered)"), (1, "1 file"), (2, "2 files")]
)
def test_answer_attachments(count: int, shown: str, en: Renderer) -> None:
    files = tuple(AttachmentInfo(f"ref{i}", "photo", 1000 + i) for i in range(count))
    assert en.answer("evidence", AttachmentsAnswer(files)) == shown


def test_summary(en: Renderer) -> None:
    summary = ShowSummary(
        (
            SummaryItem("category", Msg(question("category").label), ChoiceAnswer("logging")),
            SummaryItem("country", Msg(question("country").label), CountryAnswer("CD", "rdc")),
            SummaryItem("when", Msg(question("when").label), Skipped()),
        ),
        "en",
    )
    assert en.summary(summary) == [
        ("What happened", "Illegal logging"),
        ("Country", str(Locale.parse("en").territories["CD"])),
        ("When", "(not answered)"),
    ]


# -- available languages --------------------------------------------------------------------


def test_available_languages_keep_english_and_drop_unknown() -> None:
    found = available_languages(["xx", "en", "yy_Zzzz"])
    assert found == ("en",)


def test_available_languages_of_the_default_questionnaire() -> None:
    found = available_languages([*LANGUAGES, "xx"])
    assert "en" in found
    assert "xx" not in found
    # In the order wanted, and only those with a complete catalogue (or English).
    assert list(found) == [lang for lang in LANGUAGES if lang == "en" or render._complete(lang)]


# -- a catalogue ------------------------------------------------------------------------------

FRENCH_PO = r"""
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\n"
"Language: fr\n"
"Plural-Forms: nplurals=2; plural=(n > 1);\n"

msgid "{n} file received so far."
msgid_plural "{n} files received so far."
msgstr[0] "{n} fichier reçu pour l'instant."
msgstr[1] "{n} fichiers reçus pour l'instant."

msgid "That is too long. Please keep it under {max} characters."
msgstr "C'est trop long : moins de {maximum} caractères, s'il vous plaît."

#, fuzzy
msgid "Done"
msgstr "Fini (à revoir)"

msgid "Poaching"
msgstr "Braconnage"

msgid "Back"
msgstr "Précédent"

msgid "I don't know / prefer not to say"
msgstr "Je ne sais pas"

msgid "cancel"
msgstr "annuler"

msgid "(not answered)"
msgstr "(sans réponse)"

msgid "{n} file"
msgid_plural "{n} files"
msgstr[0] "{n} fichier"
msgstr[1] "{n} fichiers"

msgid "Exact"
msgstr "Précis"

msgid "{latitude}, {longitude} ({precision})"
msgstr "{latitude} ; {longitude} ({precision})"
"""


@pytest.fixture
def french(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Renderer]:
    folder = tmp_path / "fr" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / f"{render.DOMAIN}.po").write_text(FRENCH_PO, encoding="utf-8")
    # The template: the messages this small catalogue really translates (so it is complete).
    template = read_po(io.StringIO(FRENCH_PO))
    for message in list(template):
        if message.id and (message.fuzzy or not message.string):
            del template[message.id]
    with (tmp_path / f"{render.DOMAIN}.pot").open("wb") as pot:
        write_po(pot, template)
    monkeypatch.setattr(render, "LOCALES_DIR", tmp_path)
    render._translations.cache_clear()
    render._complete.cache_clear()
    try:
        yield Renderer("fr", QUESTIONNAIRE)
    finally:
        render._translations.cache_clear()
        render._complete.cache_clear()


def test_catalogue_makes_a_language_available(french: Renderer) -> None:
    assert available_languages(["en", "fr", "xx"]) == ("en", "fr")


def test_an_incomplete_catalogue_is_not_offered(french: Renderer, tmp_path: Path) -> None:
    pot = tmp_path / f"{render.DOMAIN}.pot"
    pot.write_text(pot.read_text() + '\nmsgid "A message nobody translated"\nmsgstr ""\n')
    render._complete.cache_clear()
    assert available_languages(["en", "fr"]) == ("en",)


def test_catalogue_translates_with_its_plural_rule(french: Renderer) -> None:
    def files(n: int) -> str:
        return french.text(Msg.plural_of(m.FILES_RECEIVED, n))

    assert files(0) == "0 fichier reçu pour l'instant."  # French: 0 is singular
    assert files(1) == "1 fichier reçu pour l'instant."
    assert files(2) == "2 fichiers reçus pour l'instant."


def test_broken_translation_falls_back_to_english(french: Renderer) -> None:
    assert french.text(Msg.of(m.REASON_TOO_LONG, max=50)) == (
        "That is too long. Please keep it under 50 characters."
    )


def test_fuzzy_and_missing_translations_show_english(french: Renderer) -> None:
    assert french.msgid(m.DONE) == "Done"
    assert french.msgid(m.YES) == "Yes"


def test_catalogue_translates_labels_and_answers(french: Renderer) -> None:
    assert french.answer("category", ChoiceAnswer("poaching")) == "Braconnage"
    assert french.answer("when", Skipped()) == "(sans réponse)"
    assert french.answer("evidence", AttachmentsAnswer()) == "(sans réponse)"
    one = (AttachmentInfo("a", "photo"),)
    assert french.answer("evidence", AttachmentsAnswer(one)) == "1 fichier"
    assert french.answer("location", LocationAnswer("exact", -1.5, 36.5)) == (
        "-1.5 ; 36.5 (Précis)"
    )
    # Names still come from CLDR, in French.
    assert french.answer("country", CountryAnswer("KE", "kenya")) == str(
        Locale.parse("fr").territories["KE"]
    )
    assert french.answer("language", ChoiceAnswer("sw")) == "Kiswahili"


def test_translated_words_are_understood(french: Renderer) -> None:
    assert interpret(CATEGORY, "braconnage", french) == Choose("category", "poaching")
    assert interpret(CATEGORY, "Poaching", french) == Text("Poaching")
    assert interpret(None, "annuler", french) == Cancel()
    assert interpret(None, "/annuler", french) == Cancel()
    # The English command words work in every language.
    assert interpret(None, "cancel", french) == Cancel()
    assert interpret(None, "help", french) == Help()
    assert interpret(None, "back", french) == Back()


def test_translated_skip_and_back_buttons_are_understood(french: Renderer) -> None:
    assert interpret(WHEN, "je ne sais pas", french) == Choose("when", SKIP_OPTION)
    assert interpret(CATEGORY, "je ne sais pas", french) == Text("je ne sais pas")
    assert interpret(WHEN, "Précédent", french) == Choose("when", BACK_OPTION)
    no_back = choice_ask("when", can_go_back=False)
    assert interpret(no_back, "précédent", french) == Text("précédent")
