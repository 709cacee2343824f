"""clv_core is the functional core: importing any of it never imports Streamlit."""

import subprocess
import sys

from tests.conftest import ROOT


def test_importing_clv_core_does_not_import_streamlit():
    code = (
        "import sys, clv_core, clv_core.ingest, clv_core.summary, clv_core.samples, clv_core.cli\n"
        "assert 'streamlit' not in sys.modules, 'clv_core imported streamlit'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
