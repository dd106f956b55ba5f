"""The docs tell the truth about configuration: every setting is in docs/operations.md."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from conversation_svc.settings import Settings as ConversationSettings
from image_svc.settings import Settings as ImageSettings
from prompt_svc.settings import Settings as PromptSettings

OPERATIONS = Path(__file__).parents[1] / "docs" / "operations.md"


def env_names(cls: type[BaseSettings]) -> list[str]:
    prefix = str(cls.model_config.get("env_prefix", "")).upper()
    names = []
    for name, field in cls.model_fields.items():
        alias = field.validation_alias
        names.append(
            str(alias.choices[0]) if isinstance(alias, AliasChoices) else prefix + name.upper()
        )
    return names


@pytest.mark.parametrize("cls", [PromptSettings, ImageSettings, ConversationSettings])
def test_every_setting_is_documented(cls: type[BaseSettings]) -> None:
    text = OPERATIONS.read_text()
    missing = [name for name in env_names(cls) if f"`{name}`" not in text]
    assert not missing, f"docs/operations.md does not document {missing}"
