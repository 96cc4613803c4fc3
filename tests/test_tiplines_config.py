"""The settings file of several tiplines (TIPLINE_CONFIG): what it accepts, the clear
errors for what it does not, and what a chosen tipline gets (keys, secret, languages)."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from privacy import X25519Identity
from privacy.secrets import ServerSecret
from storage.keys import KeySpace, validate_tipline_name
from tipline.cli import main
from tipline.runtime import offered_questionnaire
from tipline.settings import ConfigError, Settings
from tipline.tiplines import load_tiplines, parse_tiplines

ROOT = Path(__file__).resolve().parents[1]
SECRET = "ab" * 32
TOKEN = "123456:" + "A" * 35


def _recipient() -> str:
    return str(X25519Identity.generate().recipient)


def _write(directory: Path, text: str) -> Path:
    path = directory / "tiplines.yaml"
    path.write_text(text)
    return path


def _two(directory: Path) -> tuple[Path, str, str]:
    """A settings file naming two tiplines, their files beside it."""
    a, b = _recipient(), _recipient()
    (directory / "a.token").write_text(TOKEN + "\n")
    (directory / "b.recipients").write_text(f"# tipline b\n{b}\n")
    path = _write(
        directory,
        f"""
tiplines:
  alpha:
    token_file: a.token
    recipients: [{a}]
    languages: [fr, en]
  beta-2:
    token_file: b.token
    recipients_file: b.recipients
    redis_username: tipline-beta-2-bot
""",
    )
    return path, a, b


def _env(tmp_path: Path, config: Path | None = None, **more: str) -> dict[str, str]:
    env = {
        "TIPLINE_DATA_DIR": str(tmp_path / "data"),
        "TIPLINE_SECRET": SECRET,
        "REDIS_URL": "redis://127.0.0.1:1/0",
        **more,
    }
    if config is not None:
        env["TIPLINE_CONFIG"] = str(config)
    return env


# -- the file ---------------------------------------------------------------------------


def test_a_good_file_is_read_with_paths_beside_it(tmp_path: Path) -> None:
    path, a, _ = _two(tmp_path)
    tiplines = load_tiplines(path)
    assert list(tiplines) == ["alpha", "beta-2"]
    alpha, beta = tiplines["alpha"], tiplines["beta-2"]
    assert alpha.token_file == tmp_path / "a.token"
    assert alpha.recipients == a and alpha.recipients_file is None
    assert alpha.languages == ("fr", "en") and alpha.questionnaire_file is None
    assert beta.recipients_file == tmp_path / "b.recipients" and beta.recipients == ""
    assert beta.redis_username == "tipline-beta-2-bot" and beta.redis_password_file is None


def test_the_example_of_the_guide_is_a_valid_file() -> None:
    guide = (ROOT / "docs" / "deploy.md").read_text()
    section = guide[guide.index("## Several tiplines on one deployment") :]
    example = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert example is not None
    tiplines = parse_tiplines(example.group(1), Path("/etc/tipline"))
    assert list(tiplines) == ["wildleaks", "forest-watch"]
    assert tiplines["wildleaks"].redis_ephemeral_username == "tipline-wildleaks-bot"
    assert tiplines["forest-watch"].token_file == Path("/run/secrets/forest_watch_token")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "tiplines:\n  a:\n    token_file: t\n    recipients: [x]\n    colour: red\n",
            "tipline 'a': unknown setting colour",
        ),
        (
            "tiplines:\n  Big:\n    token_file: t\n    recipients: [x]\n",
            "'Big' is not a tipline name",
        ),
        ("tiplines:\n  a:b:\n    token_file: t\n    recipients: [x]\n", "is not a tipline name"),
        ("tiplines:\n  -a:\n    token_file: t\n    recipients: [x]\n", "is not a tipline name"),
        (
            "tiplines:\n  " + "a" * 33 + ":\n    token_file: t\n    recipients: [x]\n",
            "is not a tipline name",
        ),
        (
            "tiplines:\n  a:\n    token_file: t\n    recipients: [x]\n"
            "  a:\n    token_file: u\n    recipients: [y]\n",
            "line 5: 'a' is given twice",
        ),
        (
            "tiplines:\n  a:\n    token_file: t\n    token_file: u\n    recipients: [x]\n",
            "line 4: 'token_file' is given twice",
        ),
        ("tiplines:\n  a:\n    recipients: [x]\n", "tipline 'a': token_file is missing"),
        ("tiplines:\n  a:\n    token_file: t\n", "tipline 'a': no reviewer recipients"),
        (
            "tiplines:\n  a:\n    token_file: t\n    recipients: [x]\n    languages: [en, en]\n",
            "languages lists a language twice",
        ),
        (
            "tiplines:\n  a:\n    token_file: t\n    recipients: [x]\n    languages: English\n",
            "languages must be a non-empty list",
        ),
        (
            "tiplines:\n  a:\n    token_file: [t]\n    recipients: [x]\n",
            "token_file must be a file",
        ),
        (
            "tiplines:\n  a:\n    token_file: t\n    recipients: [x]\n    redis_username: a b\n",
            "redis_username must be a Redis user name",
        ),
        ("tiplines:\n  12:\n    token_file: t\n    recipients: [x]\n", "must be text (quote it)"),
        ("tiplines: {}\n", "'tiplines' must map each tipline's name"),
        ("tiplines:\n  a: yes\n", "its settings must be a mapping"),
        ("bots:\n  a: {}\n", "one mapping, 'tiplines:'"),
        ("tiplines: [a\n", "not valid YAML"),
    ],
)
def test_bad_files_are_refused_with_what_to_fix(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_tiplines(text, Path("."))
    assert message in str(raised.value)


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read TIPLINE_CONFIG .*: No such file"):
        load_tiplines(tmp_path / "missing.yaml")
    path = _write(tmp_path, "tiplines:\n  a:\n    token_file: t\n")
    with pytest.raises(ConfigError, match=r"TIPLINE_CONFIG \(.*tiplines.yaml\): tipline 'a'"):
        load_tiplines(path)


# -- choosing a tipline -------------------------------------------------------------------


def test_several_tiplines_need_a_name_and_the_refusal_lists_them(tmp_path: Path) -> None:
    path, _, _ = _two(tmp_path)
    with pytest.raises(ConfigError, match=r"several tiplines \(alpha, beta-2\).*--tipline"):
        Settings.from_env(_env(tmp_path, path))
    with pytest.raises(ConfigError, match=r"no tipline 'gamma' .*it names alpha, beta-2"):
        Settings.from_env(_env(tmp_path, path), tipline="gamma")
    with pytest.raises(ConfigError, match="is not a tipline name"):
        Settings.from_env(_env(tmp_path, path, TIPLINE_NAME="Alpha!"))
    chosen = Settings.from_env(_env(tmp_path, path, TIPLINE_NAME="alpha"))
    assert chosen.tipline == "alpha"
    # --tipline wins over TIPLINE_NAME.
    assert Settings.from_env(
        _env(tmp_path, path, TIPLINE_NAME="alpha"), tipline="beta-2"
    ).tipline == ("beta-2")


def test_a_chosen_tipline_gets_its_own_settings(tmp_path: Path) -> None:
    path, a, b = _two(tmp_path)
    env = _env(tmp_path, path, REDIS_USERNAME="shared")
    alpha = Settings.from_env(env, tipline="alpha")
    beta = Settings.from_env(env, tipline="beta-2")
    assert [str(r) for r in alpha.recipients()] == [a]
    assert [str(r) for r in beta.recipients()] == [b]
    assert [str(r) for r in beta.recipients_provider()()] == [b]
    assert alpha.token_file == tmp_path / "a.token"
    assert alpha.redis is not None and alpha.redis.username == "shared"
    assert beta.redis is not None and beta.redis.username == "tipline-beta-2-bot"
    assert alpha.keys.stream == "tipline:t:alpha:tips"
    assert beta.keys.drafts == "tipline:t:beta-2:draft:"
    assert alpha.spool_dir == tmp_path / "data" / "tiplines" / "alpha" / "spool"
    # Only the languages asked for, in the order asked; the questionnaire's default
    # language stays the default when it is among them, else the first one is.
    questionnaire = alpha.questionnaire()
    assert questionnaire.languages == ("fr", "en") and questionnaire.default_language == "en"
    swahili = replace(alpha, languages=("sw", "fr")).questionnaire()
    assert swahili.languages == ("sw", "fr") and swahili.default_language == "sw"
    assert offered_questionnaire(alpha).languages == ("fr", "en")
    assert len(beta.questionnaire().languages) > 2


def test_a_single_tipline_is_chosen_without_a_name(tmp_path: Path) -> None:
    recipient = _recipient()
    path = _write(
        tmp_path, f"tiplines:\n  solo:\n    token_file: t\n    recipients: {recipient}\n"
    )
    settings = Settings.from_env(_env(tmp_path, path))
    assert settings.tipline == "solo" and [str(r) for r in settings.recipients()] == [recipient]


def test_the_environment_alone_is_the_default_tipline_as_before(tmp_path: Path) -> None:
    recipient = _recipient()
    settings = Settings.from_env(_env(tmp_path, TIPLINE_RECIPIENTS=recipient))
    assert settings.tipline == "default" and settings.token_file is None
    assert settings.keys == KeySpace()
    assert (settings.keys.stream, settings.keys.records, settings.keys.drafts) == (
        "tipline:tips",
        "tipline:tip:",
        "tipline:draft:",
    )
    assert settings.spool_dir == tmp_path / "data" / "spool"
    assert settings.secret() == ServerSecret.from_text(SECRET)  # existing drafts still open
    # A name without a settings file chooses the keys and the secret, nothing else.
    named = Settings.from_env(_env(tmp_path, TIPLINE_RECIPIENTS=recipient), tipline="north")
    assert named.keys.stream == "tipline:t:north:tips"
    assert [str(r) for r in named.recipients()] == [recipient]


def test_a_tipline_called_default_keeps_the_old_names(tmp_path: Path) -> None:
    path = _write(
        tmp_path, f"tiplines:\n  default:\n    token_file: t\n    recipients: {_recipient()}\n"
    )
    settings = Settings.from_env(_env(tmp_path, path))
    assert settings.keys.stream == "tipline:tips"
    assert settings.secret() == ServerSecret.from_text(SECRET)


@pytest.mark.parametrize(
    "variable",
    [
        "TIPLINE_RECIPIENTS",
        "TIPLINE_RECIPIENTS_FILE",
        "TIPLINE_QUESTIONNAIRE",
        "TELEGRAM_BOT_TOKEN",
        "TELEGRAM_BOT_TOKEN_FILE",
    ],
)
def test_per_tipline_variables_beside_the_file_are_refused(tmp_path: Path, variable: str) -> None:
    path, _, _ = _two(tmp_path)
    with pytest.raises(ConfigError, match=f"unset {variable.removesuffix('_FILE')}"):
        Settings.from_env(_env(tmp_path, path, **{variable: "x"}), tipline="alpha")


def test_files_of_the_chosen_tipline_must_be_readable(tmp_path: Path) -> None:
    path, _, _ = _two(tmp_path)
    (tmp_path / "b.recipients").unlink()
    with pytest.raises(
        ConfigError, match=r"tipline 'beta-2': cannot read recipients_file \(.*\): No such file"
    ):
        Settings.from_env(_env(tmp_path, path), tipline="beta-2")
    # The other tipline does not need beta-2's files (its container does not hold them).
    assert Settings.from_env(_env(tmp_path, path), tipline="alpha").tipline == "alpha"
    (tmp_path / "b.recipients").write_text("age1notarecipient\n")
    with pytest.raises(ConfigError, match="tipline 'beta-2': reviewer recipient age1notareci"):
        Settings.from_env(_env(tmp_path, path), tipline="beta-2")
    (tmp_path / "b.recipients").write_text(_recipient())
    config = yaml.safe_load(path.read_text())
    config["tiplines"]["beta-2"]["redis_password_file"] = "missing-password"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError, match=r"tipline 'beta-2': cannot read redis_password_file"):
        Settings.from_env(_env(tmp_path, path), tipline="beta-2")
    with pytest.raises(ConfigError, match=r"need a Redis server to log in to .REDIS_URL"):
        Settings.from_env({**_env(tmp_path, path), "REDIS_URL": ""}, tipline="beta-2")


def test_a_tipline_s_own_questionnaire_is_read_and_named_when_missing(tmp_path: Path) -> None:
    default = (ROOT / "conversations" / "default_questionnaire.yaml").read_text()
    (tmp_path / "short.yaml").write_text(
        default.replace("default_language: en", "default_language: sw")
    )
    path = _write(
        tmp_path,
        f"tiplines:\n  a:\n    token_file: t\n    recipients: {_recipient()}\n"
        "    questionnaire: short.yaml\n  b:\n    token_file: t\n"
        f"    recipients: {_recipient()}\n    questionnaire: gone.yaml\n",
    )
    own = Settings.from_env(_env(tmp_path, path), tipline="a").questionnaire()
    assert own.default_language == "sw"
    with pytest.raises(ConfigError, match=r"cannot read tipline 'b': questionnaire: .*gone\.yaml"):
        Settings.from_env(_env(tmp_path, path), tipline="b").questionnaire()


def test_a_language_the_questionnaire_lacks_is_refused(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        f"tiplines:\n  a:\n    token_file: t\n    recipients: {_recipient()}\n"
        "    languages: [en, xx]\n",
    )
    settings = Settings.from_env(_env(tmp_path, path))
    with pytest.raises(ConfigError, match="languages xx are not in its questionnaire"):
        settings.questionnaire()


# -- keys and secrets -----------------------------------------------------------------


def test_names_and_key_prefixes() -> None:
    for good in ("a", "forest-watch", "0", "a" * 32, "x-"):
        assert validate_tipline_name(good) == good
    for bad in ("", "-a", "A", "a b", "a:b", "a*", "a" * 33, "é"):
        with pytest.raises(ValueError, match="not a tipline name"):
            validate_tipline_name(bad)
    # A named tipline never falls under a pattern of the default one.
    for name in ("tip", "tips", "draft", "desk", "dead"):
        root = KeySpace(name).root
        assert root == f"tipline:t:{name}:"
        for default_key in (
            "tip:",
            "draft:",
            "desk:",
            "telegram-update:",
            "throttle:",
            "receipt:",
        ):
            assert not root.startswith("tipline:" + default_key)


def test_pseudonyms_differ_between_tiplines(tmp_path: Path) -> None:
    recipient = _recipient()
    env = _env(tmp_path, TIPLINE_RECIPIENTS=recipient)
    default, alpha, beta = (
        Settings.from_env(env, tipline=name).secret() for name in ("default", "alpha", "beta")
    )
    chat = "424242"
    names = {s.pseudonym("telegram", chat) for s in (default, alpha, beta)}
    assert len(names) == 3
    # The default tipline's pseudonym is the one a single tipline always had.
    assert default.pseudonym("telegram", chat) == ServerSecret.from_text(SECRET).pseudonym(
        "telegram", chat
    )
    # Stable: the same tipline and chat give the same draft key every time.
    assert Settings.from_env(env, tipline="alpha").secret().pseudonym("telegram", chat) == (
        alpha.pseudonym("telegram", chat)
    )
    # Drafts of one tipline do not open with another's key.
    sealed = alpha.draft_cipher().encrypt(b"draft", b"k")
    with pytest.raises(Exception, match="failed authentication"):
        beta.draft_cipher().decrypt(sealed, b"k")


# -- the commands ---------------------------------------------------------------------


def test_run_telegram_refuses_without_a_name_and_names_a_missing_token(tmp_path: Path) -> None:
    path, _, _ = _two(tmp_path)
    runner = CliRunner()
    env = {**_env(tmp_path, path), "TIPLINE_NAME": None}
    result = runner.invoke(main, ["run", "telegram"], env=env)
    assert result.exit_code == 1
    assert "several tiplines (alpha, beta-2)" in result.output and "--tipline" in result.output
    result = runner.invoke(main, ["run", "telegram", "--tipline", "beta-2"], env=env)
    assert result.exit_code == 1
    assert "tipline 'beta-2': cannot read token_file" in result.output
    assert "b.token" in result.output
    (tmp_path / "b.token").write_text("not a token")
    result = runner.invoke(main, ["run", "telegram", "--tipline", "beta-2"], env=env)
    assert result.exit_code == 1
    assert "does not hold a bot token" in result.output and "not a token" not in result.output


def test_catalogues_check_takes_the_tipline_s_questionnaire(tmp_path: Path) -> None:
    path, _, _ = _two(tmp_path)
    runner = CliRunner()
    env = {**_env(tmp_path, path), "TIPLINE_NAME": None}
    refused = runner.invoke(main, ["catalogues", "check"], env=env)
    assert refused.exit_code == 1 and "several tiplines (alpha, beta-2)" in refused.output
    checked = runner.invoke(main, ["catalogues", "check", "--tipline", "alpha"], env=env)
    assert checked.exit_code == 0, checked.output
    assert "2 languages checked: no problems." in checked.output


def test_the_settings_file_can_be_named_on_the_command_line(tmp_path: Path) -> None:
    path, _, _ = _two(tmp_path)
    runner = CliRunner()
    env = {**_env(tmp_path, path), "TIPLINE_CONFIG": None, "TIPLINE_NAME": None}
    checked = runner.invoke(
        main, ["--config", str(path), "catalogues", "check", "--tipline", "alpha"], env=env
    )
    assert checked.exit_code == 0, checked.output
    assert "2 languages checked: no problems." in checked.output
    refused = runner.invoke(main, ["--config", str(path), "catalogues", "check"], env=env)
    assert refused.exit_code == 1 and "several tiplines (alpha, beta-2)" in refused.output
    missing = runner.invoke(main, ["--config", str(tmp_path / "none.yaml"), "console"], env=env)
    assert missing.exit_code == 2 and "none.yaml" in missing.output


def test_a_language_without_a_complete_translation_is_refused_by_name(tmp_path: Path) -> None:
    """Without a settings file such a language is quietly not offered; named in a
    tipline's languages, it is an error to fix (nobody who chose it would be answered)."""
    default = (ROOT / "conversations" / "default_questionnaire.yaml").read_text()
    (tmp_path / "more.yaml").write_text(
        default.replace("languages: [en, fr,", "languages: [en, de, fr,", 1)
    )
    path = _write(
        tmp_path,
        f"tiplines:\n  a:\n    token_file: t\n    recipients: {_recipient()}\n"
        "    questionnaire: more.yaml\n    languages: [en, de]\n",
    )
    settings = Settings.from_env(_env(tmp_path, path))
    assert settings.questionnaire().languages == ("en", "de")
    with pytest.raises(ConfigError, match="tipline 'a': no complete translation for de"):
        offered_questionnaire(settings)
    everything = replace(settings, languages=None)
    assert "de" not in offered_questionnaire(everything).languages
