"""Every message the engine can ask an adapter to show, as gettext message ids.

The engine never renders text. It returns :class:`Msg` values whose ``id`` is the English
source string (the gettext msgid); an adapter renders them through the tipster's
catalogue. Strings are marked with :func:`N_` so that ``pybabel extract`` finds them.
Placeholders use ``str.format`` names (``{count}``), never positional ``%s``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["NP_", "N_", "Msg", "MsgList", "Plural"]


def N_(msgid: str) -> str:
    """Mark a string for extraction without translating it (gettext's no-op marker)."""
    return msgid


def NP_(singular: str, plural: str) -> Plural:
    """Mark a message with plural forms (extracted as one entry with ``msgid_plural``)."""
    return Plural(singular, plural)


@dataclass(frozen=True)
class Plural:
    singular: str
    plural: str


@dataclass(frozen=True)
class MsgList:
    """A value that is a list of message ids: rendered each in the language and joined as
    that language joins a list ("a, b and c")."""

    ids: tuple[str, ...]


@dataclass(frozen=True)
class Msg:
    """A message id with its values; ``plural`` and ``n`` select a plural form."""

    id: str
    values: tuple[tuple[str, str | int | MsgList], ...] = ()
    plural: str | None = None
    n: int | None = None

    @classmethod
    def of(cls, msgid: str, **values: str | int | MsgList) -> Msg:
        return cls(msgid, tuple(sorted(values.items())))

    @classmethod
    def plural_of(cls, forms: Plural, n: int, **values: str | int | MsgList) -> Msg:
        """The form for ``n`` (which the text can show as ``{n}``)."""
        return cls(forms.singular, tuple(sorted({**values, "n": n}.items())), forms.plural, n)


# Engine messages. Questionnaire prompts and labels live in the questionnaire file.
WELCOME = N_(
    "Welcome. This service lets you report crimes against wildlife and forests, "
    "such as poaching, trafficking and illegal logging."
)
WELCOME_BACK = N_("Your report is still here. We continue where you stopped.")
CHOOSE_LANGUAGE = N_("Which language do you want to use?")
CONFIRM_LANGUAGE = N_("Do you want to continue in this language?")
OTHER_LANGUAGE = N_("Another language")
SKIP = N_("I don't know / prefer not to say")
BACK = N_("Back")
DONE = N_("Done")
YES = N_("Yes")
NO = N_("No")
CONTINUE = N_("Continue")
CANCEL_REPORT = N_("Cancel")
SEND = N_("Send the report")
EDIT = N_("Change an answer")
BACK_TO_SUMMARY = N_("Back to the summary")

REASON_STALE = N_("That button belongs to an earlier question. Please answer this one.")
REASON_CHOOSE = N_("Please choose one of the options.")
REASON_EMPTY = N_("Please type your answer.")
REASON_TOO_SHORT = N_("Please write a little more.")
REASON_TOO_LONG = N_("That is too long. Please keep it under {max} characters.")
REASON_REQUIRED = N_("We need this answer to understand the report. Please answer in a few words.")
REASON_NOT_HERE = N_("This question cannot take that. Please answer it as asked.")
REASON_FIRST_STEP = N_("This is the first question.")
REASON_COUNTRY_UNKNOWN = N_(
    "We could not find that country. Please type its name again, or skip this question."
)
REASON_COUNTRY_PICK = N_("Did you mean one of these?")
REASON_BAD_COORDINATES = N_(
    "Please send a location pin, or type the coordinates as two numbers, "
    "for example: -1.2921, 36.8219"
)
REASON_TOO_MANY_FILES = N_("You cannot send more than {max} files. Press Done to continue.")
REASON_SEND_FILE = N_("Please send a photo, video, voice note or document, or press Done.")
REASON_ATTACHMENT_FAILED = N_("We could not receive one of your files. You can send it again.")
REASON_SUBMIT_FAILED = N_(
    "Your report could not be sent just now. Nothing was lost. Please try again in a moment."
)
REASON_PLEASE_WAIT = N_("Your report is being sent. Please wait a moment.")
REASON_NEW_DRAFT = N_(
    "We could not continue your earlier report, so we start again. Nothing was sent."
)

HELP_GENERAL = N_(
    "Answer the question, or choose a button. You can also type: "
    "skip (to leave a question out), back (to the previous question), "
    "language (to change the language), cancel (to stop and delete your report)."
)
PRECISION_PROMPT = N_(
    "How precise should this location be in your report? "
    "Less precise is safer if only a few people know the place."
)
PRECISION_EXACT = N_("Exact")
PRECISION_1KM = N_("About 1 km")
PRECISION_10KM = N_("About 10 km")
PRECISION_COUNTRY = N_("Country only")
FILE_RECEIVED = N_("File received.")
FILES_RECEIVED = NP_("{n} file received so far.", "{n} files received so far.")

SUMMARY_INTRO = N_("Please check your report before you send it.")
SUMMARY_SKIPPED = N_("(not answered)")
SUMMARY_LOCATION = N_("{latitude}, {longitude} ({precision})")
SUMMARY_FILES = NP_("{n} file", "{n} files")
EDIT_PROMPT = N_("Which answer do you want to change?")

CANCEL_CONFIRM = N_("Do you want to stop and delete this report? Nothing will be sent.")
CANCEL_YES = N_("Yes, delete it")
CANCEL_NO = N_("No, continue")
CANCELLED = N_("Your report was deleted. Nothing was sent. You can start again at any time.")

SUBMITTED = N_(
    "Thank you. Your report was received safely. It is encrypted: only the reviewers can read it."
)
SAFETY_AFTER = N_(
    "For your safety: do not tell anyone you sent a report, and delete this chat "
    "if someone could look at your phone."
)
WIPE_OFFER = N_("Do you want us to delete this conversation from this chat now?")
WIPE_YES = N_("Yes, delete the chat")
WIPE_NO = N_("No, keep it")
WIPED = N_("This conversation was deleted.")
GOODBYE = N_("Thank you. You can close this chat now.")

RECEIPT_GIVEN = N_(
    "Your receipt code is: {code}. Write it down somewhere safe. With it you can check "
    "for questions from our reviewers: send /followup or type followup."
)
FOLLOWUP_ASK_CODE = N_("Please type your 16-digit receipt code.")
REASON_CODE_FORM = N_("A receipt code has 16 digits. Please check it and type it again.")
REASON_CODE_UNKNOWN = N_("We do not know this code. Please check it and type it again.")
REASON_TOO_MANY_TRIES = N_("Too many wrong codes. Please try again later.")
FOLLOWUP_QUESTIONS = NP_(
    "Our reviewers have {n} question for you:", "Our reviewers have {n} questions for you:"
)
FOLLOWUP_QUESTION = N_("Question {n}: {question}")
FOLLOWUP_NO_QUESTIONS = N_("There are no new questions for you.")
FOLLOWUP_ANSWER_PROMPT = N_(
    "Type your answer, or anything you want to add to your report. Do not write your name."
)
FOLLOWUP_SENT = N_("Thank you. Your answer was added to your report, encrypted.")
FOLLOWUP_FINISH_FIRST = N_(
    "Please finish or cancel this report first. Then you can check for questions."
)

REASON_NO_LINK = N_(
    "We could not find a web address in your message. Please type or paste the address "
    "of the listing as your browser or app shows it."
)
REASON_LINK_SCHEME = N_(
    "Only web addresses can be taken here: they start with http:// or https://, or with "
    "the site's name. Please check the address and type it again."
)
#: Said when changing an answer made earlier answers no longer apply; ``{details}`` is
#: the list of their questions' labels.
ANSWERS_DROPPED = NP_(
    "This answer no longer applies to your report, so it was removed: {details}.",
    "These answers no longer apply to your report, so they were removed: {details}.",
)
LINK_ONION = N_("{link} (onion service)")

SPECIES_PICK = N_("Which of these do you mean?")
SPECIES_NONE = N_("None of these")
SPECIES_UNSURE = N_("I'm not sure")
SPECIES_MORE = N_("Do you want to add another animal, plant or product?")
SPECIES_ADD = N_("Add another")
SPECIES_DONE = N_("No, that is all")

REASON_FILE_TOO_BIG = N_("This file is too big. Please send a smaller file.")
REASON_FILE_REFUSED = N_(
    "We cannot accept this kind of file, because we cannot remove the hidden details in "
    "it that could identify you. Please send a photo or a screenshot instead."
)
REASON_FILE_DAMAGED = N_(
    "We could not read this file. It may be damaged. Please send it again, or send a "
    "photo or a screenshot instead."
)
# A video or audio file cut short: {kept} and {total} are durations such as "0:12",
# "1:05:03" (minutes and seconds, or hours, minutes and seconds).
FILE_PARTIAL_VIDEO = N_(
    "Your video seems damaged: only the first {kept} of {total} could be kept. "
    "If you have the whole video, you can send it again."
)
FILE_PARTIAL_AUDIO = N_(
    "Your recording seems damaged: only the first {kept} of {total} could be kept. "
    "If you have the whole recording, you can send it again."
)
FILE_PARTIAL_VIDEO_UNKNOWN = N_(
    "Your video seems damaged: only the first {kept} could be kept. "
    "If you have the whole video, you can send it again."
)
FILE_PARTIAL_AUDIO_UNKNOWN = N_(
    "Your recording seems damaged: only the first {kept} could be kept. "
    "If you have the whole recording, you can send it again."
)
FILE_CLEANED = N_("To protect you, we removed from your file: {details}.")
FILE_NOTHING_HIDDEN = N_("We checked your file: it had no hidden details to remove.")
# A voice note, audio file or video: asked once, before it is fetched. "My own voice"
# and "I don't know" (and no answer) mean the voice is disguised before storage.
VOICE_PROMPT = N_(
    "Whose voice is in this recording? If it is your own voice, we change it before it is "
    "stored, so that nobody can recognise you. A recording of someone else, such as a "
    "trader or an official, is kept as it is, as evidence."
)
VOICE_OWN = N_("My own voice")
VOICE_OTHER = N_("Someone else (keep it as evidence)")
VOICE_UNSURE = N_("I don't know")
VOICE_DISGUISED = N_(
    "Your voice in this recording was changed before it was stored. Your words stay the same."
)
# What was removed, as a tipster would say it (joined as a list in each language).
REMOVED_LABELS = {
    "location": N_("the location"),
    "camera": N_("the camera details"),
    "author": N_("names of people"),
    "timestamps": N_("dates and times"),
    "software": N_("software details"),
    "thumbnail": N_("a hidden preview picture"),
    "comments": N_("hidden comments"),
    "xmp": N_("other hidden details"),
    "iptc": N_("other hidden details"),
    "embedded_files": N_("files hidden inside it"),
    "scripts": N_("scripts"),
    "revisions": N_("earlier versions"),
    "printer": N_("printer details"),
    "other": N_("other hidden details"),
}
