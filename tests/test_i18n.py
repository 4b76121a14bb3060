"""The language a person reads (greenpark.i18n) and catalogue messages carried by errors."""

from __future__ import annotations

import pytest

from greenpark import i18n
from greenpark.errors import InputError


@pytest.mark.parametrize(("environ", "lang"), [
    ({}, "en"),
    ({"LANG": "zh_CN.UTF-8"}, "zh"),
    ({"LANG": "en_US.UTF-8"}, "en"),
    ({"LANG": "C.UTF-8"}, "en"),
    ({"LANG": "en_US.UTF-8", "LC_ALL": "zh_TW.UTF-8"}, "zh"),
    ({"LANG": "zh_CN.UTF-8", "GREENPARK_LANG": "en"}, "en"),
    ({"GREENPARK_LANG": "zh-CN"}, "zh"),
])
def test_language_from_environment(environ, lang):
    assert i18n.from_environment(environ) == lang


def test_bad_greenpark_lang_is_refused():
    with pytest.raises(ValueError, match="GREENPARK_LANG"):
        i18n.from_environment({"GREENPARK_LANG": "fr"})


def test_use_lang_overrides_and_restores(monkeypatch):
    monkeypatch.setenv("GREENPARK_LANG", "en")
    assert i18n.current_lang() == "en"
    with i18n.use_lang("zh"):
        assert i18n.current_lang() == "zh"
        assert i18n.text("cli.error_prefix") == "错误："
    assert i18n.current_lang() == "en"
    assert i18n.text("cli.error_prefix") == "error:"


def test_unknown_message_is_a_programming_error():
    with pytest.raises(KeyError, match="catalogue"):
        i18n.text("no.such.message")


def test_error_from_catalogue_message_is_english_in_str_and_localized_on_request(monkeypatch):
    monkeypatch.setattr(i18n, "lookup", lambda kind, code: (
        {"zh": "表计 {meter} 不存在", "en": "meter {meter} does not exist"}, {}))
    exc = InputError.t("demo.meter_unknown", meter="E-01")
    assert str(exc) == "meter E-01 does not exist"
    assert exc.localized("zh") == "表计 E-01 不存在"
    assert isinstance(exc, InputError) and exc.exit_status == 2
    assert InputError("plain").localized("zh") == "plain"
