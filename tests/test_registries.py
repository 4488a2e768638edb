"""The render modes and stream names are each one registry that the library and every CLI choice
read: a mode or stream added there appears in every `--render` / `--stream` choice."""

import click
import pytest

from tdf.render_modes import ANIMATED, FORMATS, RENDER_MODES, check_render_mode
from tdf.streams import STREAMS, default_stream


def _choices(command: click.Command, option: str) -> tuple[str, ...]:
    param = next(p for p in command.params if p.name == option)
    return tuple(param.type.choices)


def test_every_render_choice_is_the_registry():
    from tdf.commands.diagnose import diagnose
    from tdf.commands.loop import loop
    assert RENDER_MODES == ("gif", "mp4", "none")
    assert _choices(diagnose, "render") == _choices(loop, "render") == RENDER_MODES
    assert set(ANIMATED) <= set(FORMATS)


def test_render_writes_exactly_the_registered_formats():
    from tdf.render import SUFFIXES
    assert SUFFIXES == tuple(FORMATS) == (".gif", ".mp4", ".png")


def test_an_unknown_render_mode_is_refused_naming_the_choices():
    from tdf.errors import BadInput
    assert check_render_mode("mp4") == "mp4"
    with pytest.raises(BadInput, match="gif, mp4 or none"):
        check_render_mode("avi")


def test_every_stream_choice_is_the_registry():
    from tdf.commands.diagnose import diagnose
    from tdf.commands.explain import explain
    assert _choices(diagnose, "stream") == _choices(explain, "stream") == STREAMS == ("main", "ta")
    assert default_stream("ms_res_tcn") == "main" and default_stream("res_tcn") is None
