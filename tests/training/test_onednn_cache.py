"""The oneDNN kernel cache bound that the trainer sets before training starts."""

import os
import subprocess
import sys

SCRIPT = "import os, fim_server.training.train; print(os.environ.get('ONEDNN_PRIMITIVE_CACHE_CAPACITY'))"


def _capacity_after_import(environ: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=environ, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_trainer_bounds_kernel_cache():
    environ = {key: value for key, value in os.environ.items() if key != "ONEDNN_PRIMITIVE_CACHE_CAPACITY"}
    assert _capacity_after_import(environ) == "16"


def test_user_kernel_cache_setting_wins():
    environ = dict(os.environ, ONEDNN_PRIMITIVE_CACHE_CAPACITY="1024")
    assert _capacity_after_import(environ) == "1024"
