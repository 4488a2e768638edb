import subprocess
import sys

from tdf import __version__


def test_version_and_help(invoke):
    r = invoke("--version")
    assert r.exit_code == 0 and __version__ in r.stdout
    r = invoke("--help")
    assert r.exit_code == 0 and "data" in r.stdout


def test_unknown_command_is_usage_error(invoke):
    r = invoke("frobnicate")
    assert r.exit_code == 2


def test_console_script_runs():
    r = subprocess.run([sys.executable, "-m", "tdf", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and "tdf" in r.stdout
