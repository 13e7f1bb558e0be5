"""The signed-in principal of this browser session."""

from __future__ import annotations

import streamlit as st

from indicators.access import SYSTEM, Principal

PRINCIPAL_KEY = "principal"


def current_principal() -> Principal:
    """The session's principal. Until the login page exists every session acts as SYSTEM."""
    return st.session_state.get(PRINCIPAL_KEY) or SYSTEM
