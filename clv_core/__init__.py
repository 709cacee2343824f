"""CLV Studio's computational core: ingestion, summaries and models, with no Streamlit in sight."""

from clv_core.errors import ClvError

__all__ = ["ClvError"]
__version__ = "0.1.0"
