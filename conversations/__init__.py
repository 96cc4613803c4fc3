"""The conversation engine: questionnaire, state machine and transcript, free of I/O.

Adapters turn channel input into :mod:`~conversations.events`, call
:meth:`Engine.handle`, and carry out the returned :mod:`~conversations.actions`.
"""

from .actions import (
    Action,
    Ask,
    CountryName,
    Discard,
    End,
    FetchAttachment,
    Label,
    LanguageName,
    Option,
    Say,
    ShowSummary,
    Submit,
    SummaryItem,
    Wipe,
)
from .answers import AnswerValue
from .engine import BACK_OPTION, SKIP_OPTION, Engine
from .events import (
    Attachment,
    AttachmentFailed,
    Back,
    Cancel,
    ChangeLanguage,
    Choose,
    Event,
    Help,
    Location,
    ShowSafety,
    Skip,
    Start,
    SubmitFailed,
    Submitted,
    Text,
)
from .messages import Msg
from .questionnaire import Questionnaire, QuestionnaireError, parse_questionnaire
from .state import State, state_from_json, state_to_json
from .transcript import SCHEMA_VERSION, build_transcript

__all__ = [
    "BACK_OPTION",
    "SCHEMA_VERSION",
    "SKIP_OPTION",
    "Action",
    "AnswerValue",
    "Ask",
    "Attachment",
    "AttachmentFailed",
    "Back",
    "Cancel",
    "ChangeLanguage",
    "Choose",
    "CountryName",
    "Discard",
    "End",
    "Engine",
    "Event",
    "FetchAttachment",
    "Help",
    "Label",
    "LanguageName",
    "Location",
    "Msg",
    "Option",
    "Questionnaire",
    "QuestionnaireError",
    "Say",
    "ShowSafety",
    "ShowSummary",
    "Skip",
    "Start",
    "State",
    "Submit",
    "SubmitFailed",
    "Submitted",
    "SummaryItem",
    "Text",
    "Wipe",
    "build_transcript",
    "parse_questionnaire",
    "state_from_json",
    "state_to_json",
]
