"""The command line's own behaviour (its commands are exercised by the tests of what they drive)."""

import pytest

from leadstream import cli


def test_a_bad_setting_is_named_with_what_to_do_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LEADSTREAM_WORKER_STORE", "redis://")
    cli.get_settings.cache_clear()  # read once per process: another test may have read them already
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "invalid setting LEADSTREAM_WORKER_STORE='redis://'" in err
    assert "README.md" in err
