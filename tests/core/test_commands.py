"""Every management command of the project explains itself: ``manage.py <command> --help`` prints its help in the
active language (the help is a lazy translation, which argparse could not format: walk 20)."""

from importlib.util import find_spec
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import get_commands, load_command_class
from django.utils import translation

from core.commands import BaseCommand

#: The commands of the project's own apps (not Django's, not ninja's).
OURS = sorted((name, app) for name, app in get_commands().items()
              if Path(find_spec(app).origin).is_relative_to(settings.BASE_DIR) and ".venv" not in find_spec(app).origin)


def test_the_project_has_its_commands():
    assert {name for name, _app in OURS} >= {"adduser", "load_demo", "rebuild_index", "run_worker", "send_notices"}


@pytest.mark.parametrize(("name", "app"), OURS)
def test_help_prints_the_commands_description_in_the_active_language(name, app):
    command = load_command_class(app, name)
    with translation.override("zh-hans"):
        chinese_help = str(command.help)
        chinese = command.create_parser("manage.py", name).format_help()
    with translation.override("en"):
        english_help = str(command.help)
        english = command.create_parser("manage.py", name).format_help()

    assert isinstance(command, BaseCommand)
    assert english_help != chinese_help
    assert chinese_help[:12] in chinese.replace("\n", "")
    assert " ".join(english_help.split())[:20] in " ".join(english.split())
