"""The practice's settings folder: overrides apply, mistakes become clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from omnidesk.model import Classification, Urgency
from omnidesk.services.context import config_dir, load_triage
from omnidesk.services.errors import OmnideskError


def test_env_names_the_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OMNIDESK_CONFIG", str(tmp_path))
    assert config_dir() == tmp_path


def test_overrides_in_the_folder_apply(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "practice.toml").write_text('[routing.intent]\nrefill = "billing"\n')
    monkeypatch.setenv("OMNIDESK_CONFIG", str(tmp_path))
    engine = load_triage()
    assert engine.route(Classification(("refill",), Urgency.ROUTINE)) == "billing"


def test_missing_folder_means_the_shipped_defaults(tmp_path: Path) -> None:
    engine = load_triage(tmp_path / "does-not-exist")
    assert engine.route(Classification(("refill",), Urgency.ROUTINE)) == "nurse"


def test_a_bad_file_names_the_file_and_key(tmp_path: Path) -> None:
    (tmp_path / "practice.toml").write_text('[practice]\ntimezone = "Mars/Olympus"\n')
    with pytest.raises(OmnideskError) as exc:
        load_triage(tmp_path)
    assert "practice.toml" in exc.value.message and "timezone" in exc.value.message
    assert str(tmp_path) in (exc.value.hint or "")
